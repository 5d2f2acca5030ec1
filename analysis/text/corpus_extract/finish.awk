# Documents (separated by blank lines) to a train and a validation file.
#   awk -v train=T -v valid=V -v stats=S -f finish.awk DOCS...
# Exact duplicates are dropped (first occurrence kept, order unchanged). A document
# goes to validation when h mod 7 == 0 (about 14%, so that each corpus holds at least 200
# windows of 512 tokens for the spectra), h being the polynomial hash
# h = (h * 31 + byte) mod 2147483647 over its bytes: the split depends only on the
# text, not on its position, so it stays put when other documents come or go.
# Run with LC_ALL=C. stats gets "docs N dups N train N valid N".
BEGIN {
    RS = ""
    for (i = 1; i < 256; i++) ORD[sprintf("%c", i)] = i
    docs = dups = nt = nv = 0
    printf "" > train; printf "" > valid
}
{
    d = $0
    if (d in seen) { dups++; next }
    seen[d] = 1
    docs++
    h = 0
    L = length(d)
    for (i = 1; i <= L; i++) h = (h * 31 + ORD[substr(d, i, 1)]) % 2147483647
    if (h % 7 == 0) { print d "\n" > valid; nv++ } else { print d "\n" > train; nt++ }
}
END { print "docs " docs " dups " dups " train " nt " valid " nv > stats }

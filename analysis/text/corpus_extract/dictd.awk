# dictd databases (.index + uncompressed .dict) to documents, one per entry.
#   awk -v mode=offsets -f dictd.awk X.index          "offset<TAB>length" per entry
#   awk -v mode=extract -v offsets=FILE -f dictd.awk X.dict
# offsets: the first mode's output sorted by offset without repeats (several headwords
# share one entry). Entries named 00-database-* (dictd's own headers) are left out.
# Each entry: {} link braces removed, lines trimmed and runs of blanks squeezed, the
# lines of a paragraph joined with spaces, paragraphs on lines of their own; the
# document is followed by one blank line. Run with LC_ALL=C (byte offsets).
function dec(s,   v, i) { # dictd's base64 numbers, most significant digit first
    v = 0
    for (i = 1; i <= length(s); i++) v = v * 64 + index(B64, substr(s, i, 1)) - 1
    return v
}
function fmt(t,   n, L, i, line, para, doc) {
    gsub(/[{}]/, "", t)
    n = split(t, L, "\n")
    doc = ""; para = ""
    for (i = 1; i <= n; i++) {
        line = L[i]
        gsub(/[ \t\r]+/, " ", line); sub(/^ /, "", line); sub(/ $/, "", line)
        if (line == "") {
            if (para != "") doc = doc (doc == "" ? "" : "\n") para
            para = ""
        } else {
            para = para (para == "" ? "" : " ") line
        }
    }
    if (para != "") doc = doc (doc == "" ? "" : "\n") para
    return doc
}
BEGIN {
    B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    if (mode == "offsets") { FS = "\t" }
    else if (mode == "extract") {
        n = 0
        while ((getline line < offsets) > 0) { split(line, F, "\t"); off[++n] = F[1]; len[n] = F[2] }
        close(offsets)
        RS = "\001" # not in the data: the whole .dict is one record
    } else { print "dictd.awk: mode must be offsets or extract" > "/dev/stderr"; exit 64 }
}
mode == "offsets" {
    if (NF < 3 || $1 ~ /^00-?database/) next
    print dec($2) "\t" dec($3)
}
mode == "extract" {
    for (i = 1; i <= n; i++) {
        d = fmt(substr($0, off[i] + 1, len[i]))
        if (d != "") print d "\n"
    }
}

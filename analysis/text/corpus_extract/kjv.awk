# `bible -l100000 Gen1:1-Rev22:21` output to documents, one per chapter: the
# "Book N" heading lines and the verse numbers are dropped and the verses of a
# chapter are joined with spaces into one paragraph, followed by a blank line.
function flush() { if (doc != "") print doc "\n"; doc = "" }
/^[ \t]*$/ { next }
/^  *[0-9]+ / {
    sub(/^  *[0-9]+ +/, ""); gsub(/[ \t\r]+/, " "); sub(/ $/, "")
    doc = doc (doc == "" ? "" : " ") $0
    next
}
{ flush() } # a heading starts the next chapter
END { flush() }

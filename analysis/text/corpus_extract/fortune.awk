# fortune files (items separated by lines holding only "%") to documents, one per
# item. Lines are kept (verse, dialogue and signatures are line-shaped) but trimmed,
# with runs of blanks squeezed; blank lines inside an item are dropped so that a
# blank line only ever separates documents. Overstrike (x BACKSPACE) is removed by
# the caller before this step.
function flush() { if (doc != "") print doc "\n"; doc = "" }
/^%[ \t\r]*$/ { flush(); next }
{
    gsub(/[ \t\r]+/, " "); sub(/^ /, ""); sub(/ $/, "")
    if ($0 != "") doc = doc (doc == "" ? "" : "\n") $0
}
END { flush() }

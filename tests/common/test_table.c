/* Tests for lb_table (common/lb_table.h), the one CSV reader: a good file, and each
 * failure returning -1 with a message that names the file and what was wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_table.h"
#include "lb_test.h"

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void) {
    char dir[] = "/tmp/lbtableXXXXXX", path[64], msg[256];
    LB_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/t.csv", dir);
    lb_table t;

    write_file(path, "# a comment\nn,k,v\r\n512,64,0.5\n\n1024,128,\n");
    LB_CHECK(lb_table_read(&t, path, msg, sizeof msg) == 0, "read: %s", msg);
    LB_CHECK(t.ncol == 3 && t.nrow == 2, "shape %d x %zu", t.ncol, t.nrow);
    int c[3];
    static const char *const names[] = {"n", "k", "v"};
    LB_CHECK(lb_table_cols(&t, c, names, 3, msg, sizeof msg) == 0 && c[2] == 2, "cols");
    LB_CHECK(lb_table_num(&t, 0, c[2]) == 0.5, "number");
    LB_CHECK(isnan(lb_table_num(&t, 1, c[2])), "an empty cell is NaN");
    LB_CHECK(!strcmp(lb_table_str(&t, 9, 0), ""), "a row past the end is empty, not a crash");
    LB_CHECK(lb_table_col(&t, "sigma", msg, sizeof msg) == -1 && strstr(msg, "sigma") && strstr(msg, path),
             "missing column named with its file: %s", msg);
    lb_table_free(&t);

    LB_CHECK(lb_table_read(&t, "/nonexistent/t.csv", msg, sizeof msg) == -1 && t.cannot_open == 1 &&
                 strstr(msg, "/nonexistent/t.csv"),
             "missing file: %s", msg);
    write_file(path, "n,k\n1,2,3\n");
    LB_CHECK(lb_table_read(&t, path, msg, sizeof msg) == -1 && t.cannot_open == 0 && strstr(msg, "line 2"),
             "field count names the line: %s", msg);
    write_file(path, "# only a comment\n");
    LB_CHECK(lb_table_read(&t, path, msg, sizeof msg) == -1 && strstr(msg, "no header"), "no header: %s", msg);
    write_file(path, "n,k\n\"1\",2\n");
    LB_CHECK(lb_table_read(&t, path, msg, sizeof msg) == -1 && strstr(msg, "quoted"), "quote: %s", msg);
    lb_table_free(&t);

    unlink(path);
    rmdir(dir);
    return lb_test_summary("test_table");
}

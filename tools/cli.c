/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsm/tsm.h"

bool cli_parse_num(const char *s, uint64_t *v)
{
    char *end;

    errno = 0;
    if (*s == '\0' || *s == '-') {
        return false;
    }
    *v = strtoull(s, &end, 0);
    return errno == 0 && *end == '\0';
}

bool cli_parse_func(const char *s, uint32_t max, uint32_t *out)
{
    unsigned b, d, f;
    char tail;
    uint64_t v;

    if (sscanf(s, "%x:%x.%x%c", &b, &d, &f, &tail) == 3 && b <= 0xff &&
        d <= 0x1f && f <= 7) {
        *out = b << 8 | d << 3 | f;
        return true;
    }
    if (!cli_parse_num(s, &v) || v > max) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool cli_parse_if(const char *s, uint64_t *ifid)
{
    const char *slash = strchr(s, '/');
    char dev[32];
    uint64_t d;
    uint32_t f;

    if (slash == NULL) {
        return cli_parse_num(s, ifid);
    }
    if ((size_t)(slash - s) >= sizeof(dev)) {
        return false;
    }
    memcpy(dev, s, (size_t)(slash - s));
    dev[slash - s] = '\0';
    if (!cli_parse_num(dev, &d) || d > UINT32_MAX ||
        !cli_parse_func(slash + 1, UINT32_MAX, &f)) {
        return false;
    }
    *ifid = TSM_IF_ID(d, f);
    return true;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            fprintf(f, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(f, "\\u%04x", ch);
        } else {
            fputc(ch, f);
        }
    }
    fputc('"', f);
}

long cli_read_file(const char *prog, const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    if (n == cap) {
        fprintf(stderr, "%s: %s: over %zu bytes\n", prog, path, cap - 1);
        return -1;
    }
    return (long)n;
}

/* SPDX-License-Identifier: MIT */
/*
 * What the TEE-IO command-line tools (tdisp, tsm-host, tsm-guest) parse and
 * print the same way. No allocation.
 */
#ifndef TOOLS_CLI_H
#define TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/**
 * cli_parse_num() - @s as a whole unsigned number (decimal, 0x hex or 0
 * octal), no sign, nothing after it.
 * Return: true with *@v set, false when @s is not such a number.
 */
bool cli_parse_num(const char *s, uint64_t *v);

/**
 * cli_parse_func() - a PCI function: BB:DD.F (hex, bus up to 0xff, device
 * up to 0x1f, function up to 7) as its routing id, or a number up to @max.
 * Return: true with *@out set, false otherwise.
 */
bool cli_parse_func(const char *s, uint32_t max, uint32_t *out);

/**
 * cli_parse_if() - a TSM interface: DEV/FUNC (a 32-bit device id, FUNC as
 * cli_parse_func() up to 0xffffffff) or the 64-bit interface id itself.
 * Return: true with *@ifid set, false otherwise.
 */
bool cli_parse_if(const char *s, uint64_t *ifid);

/**
 * cli_json_str() - write @s to @f as a JSON string, quotes included ('"'
 * and '\\' escaped, control characters as \u00XX).
 */
void cli_json_str(FILE *f, const char *s);

/**
 * cli_read_file() - read the whole of @path into @buf (@cap bytes). A file of
 * @cap bytes or more is refused. On failure one line "PROG: PATH: reason"
 * goes to stderr.
 * Return: the number of bytes read, or -1.
 */
long cli_read_file(const char *prog, const char *path, uint8_t *buf,
                   size_t cap);

/**
 * cli_load_root() - the certificate a --root option names, PEM or DER, as
 * DER in @der (@cap bytes); *@len its length. On failure one line
 * "PROG: --root PATH: reason" goes to stderr (cli_root.c: links src/crypto).
 * Return: 0 or -1.
 */
int cli_load_root(const char *prog, const char *path, uint8_t *der, size_t cap,
                  size_t *len);

#endif

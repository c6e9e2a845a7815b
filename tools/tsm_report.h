/* SPDX-License-Identifier: MIT */
/*
 * Provider-neutral attestation through Linux configfs-tsm, and the tsm-report
 * evidence envelope ({provider, outblob, auxblob?}, JSON or CBOR) that
 * `nsm tsm-report` writes and `nsm verify` reads.
 */
#ifndef TOOLS_TSM_REPORT_H
#define TOOLS_TSM_REPORT_H

#include <stddef.h>
#include <stdint.h>

/**
 * tsm_report_main() - `nsm tsm-report [options]`
 * @argc: argument count, argv[0] is "tsm-report"
 * @argv: arguments
 *
 * Return: the process exit status.
 */
int tsm_report_main(int argc, char **argv);

/**
 * tsm_envelope_unwrap() - take NSM evidence out of a tsm-report envelope
 * @in: the bytes of an evidence file
 * @in_len: their length
 * @doc: on 0, a new buffer (the caller frees it) with the outblob
 * @doc_len: on 0, its length
 * @why: on -1, what is wrong, as one line
 * @why_cap: bytes at @why
 *
 * A JSON object or a CBOR map is read as an envelope; anything else is
 * left as it is (a raw COSE_Sign1 document).
 *
 * Return: 0 (an envelope of provider "nsm"), 1 (not an envelope), -1 (a
 * malformed envelope, or one from another provider).
 */
int tsm_envelope_unwrap(const uint8_t *in, size_t in_len, uint8_t **doc,
                        size_t *doc_len, char *why, size_t why_cap);

#endif /* TOOLS_TSM_REPORT_H */

/* SPDX-License-Identifier: MIT */
/* cli_load_root(), apart from cli.c: only the tools that pin a root need
 * src/crypto. */
#include "cli.h"

#include "crypto/x509.h"

int cli_load_root(const char *prog, const char *path, uint8_t *der, size_t cap,
                  size_t *len)
{
    static uint8_t raw[3 * CRYPTO_X509_DER_MAX];
    long n = cli_read_file(prog, path, raw, sizeof(raw));
    long d;

    if (n < 0) {
        return -1;
    }
    d = crypto_x509_to_der(raw, (size_t)n, der, cap);
    if (d <= 0) {
        fprintf(stderr, "%s: --root %s: not a certificate (PEM or DER)\n", prog,
                path);
        return -1;
    }
    *len = (size_t)d;
    return 0;
}

// SPDX-License-Identifier: MIT

// go-tsm gets one attestation report through Debian's go-configfs-tsm
// (linuxtsm.GetReport), as any configfs-tsm consumer would, and prints the
// provider, the nonce and the outblob in hex for the host to verify:
//
//	E2E-GO-PROVIDER nsm
//	E2E-GO-NONCE <hex>
//	E2E-GO-DOC <hex>
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-configfs-tsm/configfs/linuxtsm"
	"github.com/google/go-configfs-tsm/report"
)

func main() {
	nonce := make([]byte, 64)
	if _, err := rand.Read(nonce); err != nil {
		fmt.Fprintln(os.Stderr, "go-tsm: no random nonce:", err)
		os.Exit(1)
	}
	resp, err := linuxtsm.GetReport(&report.Request{InBlob: nonce})
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-tsm: GetReport:", err)
		os.Exit(1)
	}
	// the attribute ends in a newline, as every provider's does
	provider := strings.TrimSuffix(resp.Provider, "\n")
	fmt.Printf("E2E-GO-PROVIDER %s\n", provider)
	fmt.Printf("E2E-GO-NONCE %s\n", hex.EncodeToString(nonce))
	fmt.Printf("E2E-GO-DOC %s\n", hex.EncodeToString(resp.OutBlob))
	if provider != "nsm" || len(resp.OutBlob) == 0 {
		fmt.Fprintf(os.Stderr, "go-tsm: provider %q, %d outblob bytes\n",
			resp.Provider, len(resp.OutBlob))
		os.Exit(1)
	}
}

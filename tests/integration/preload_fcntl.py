#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An enclave program in Python, as one is written for a real Nitro enclave:
open /dev/nsm and drive it with fcntl.ioctl(NSM_IOCTL_RAW), CBOR through
Debian's python3-cbor2. Run under LD_PRELOAD=libnsm-preload.so with
TRUSTVIO_NSM_SOCKET naming a vhost-user-nsm backend (see
nsm_with_daemon.sh).

Usage: preload_fcntl.py [all | extend-pcr20 | check-pcr20 | fault |
                         own-handler]
  all           every check below (default)
  extend-pcr20  extend PCR 20 once (process A of the shared-state test)
  check-pcr20   expect PCR 20 to hold that one extend (process B)
  fault         bad pointers give EFAULT, then a fault of the program's
                own still kills it with SIGSEGV (the caller checks that)
  own-handler   bad pointers give EFAULT after the program installed its
                own SIGSEGV handler
"""
import ctypes
import errno
import fcntl
import hashlib
import os
import signal
import struct
import sys
import threading

import cbor2

NSM_IOCTL_RAW = 0xC0200A00  # _IOWR(0x0A, 0, struct nsm_raw)
REQ_MAX = 0x1000
RESP_MAX = 0x3000
PCR20_DATA = b"process A was here"

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("PASS:", what)
    else:
        failed += 1
        print("FAIL:", what)


def raw_ioctl(fd, req, resp_cap=RESP_MAX, req_addr=None, resp_addr=None):
    """One NSM_IOCTL_RAW; returns the response bytes (response.len)."""
    reqbuf = ctypes.create_string_buffer(bytes(req), max(len(req), 1))
    respbuf = ctypes.create_string_buffer(max(resp_cap, 1))
    addr = ctypes.addressof(reqbuf) if req_addr is None else req_addr
    raddr = ctypes.addressof(respbuf) if resp_addr is None else resp_addr
    arg = bytearray(struct.pack("=QQQQ", addr, len(req), raddr, resp_cap))
    fcntl.ioctl(fd, NSM_IOCTL_RAW, arg, True)
    n = struct.unpack("=QQQQ", arg)[3]
    assert n <= resp_cap
    return respbuf.raw[:n]


def call(fd, request):
    return cbor2.loads(raw_ioctl(fd, cbor2.dumps(request)))


def expect_errno(fn, want):
    try:
        fn()
    except OSError as e:
        return e.errno == want
    return False


def pcr20_expected():
    return hashlib.sha384(b"\0" * 48 + PCR20_DATA).digest()


def check_all():
    fd = os.open("/dev/nsm", os.O_RDWR)
    check(fd >= 0, "open /dev/nsm")

    r = call(fd, "DescribeNSM")["DescribeNSM"]
    check(r["version_major"] == 1 and r["max_pcrs"] == 32
          and r["digest"] == "SHA384"
          and r["locked_pcrs"] == list(range(16))
          and r["module_id"].startswith("i-"),
          "DescribeNSM: %r" % (r,))

    data = bytes.fromhex("0b00374863ff5c65")
    r = call(fd, {"ExtendPCR": {"index": 16, "data": data}})
    check(r["ExtendPCR"]["data"].hex() ==
          "b33da05a0fdb71627c8c68fc4232281fc440edd6f0ac7467fa497bbb907db3"
          "2d957b5fd393845fa02c264ad5ea233888",
          "ExtendPCR 16 gives the real-NSM value")
    r = call(fd, {"DescribePCR": {"index": 16}})["DescribePCR"]
    check(r["lock"] is False and
          r["data"] == hashlib.sha384(b"\0" * 48 + data).digest(),
          "DescribePCR 16 after the extend")
    r = call(fd, {"LockPCR": {"index": 0}})
    check(r == {"Error": "ReadOnlyIndex"}, "LockPCR 0: ReadOnlyIndex")
    r = call(fd, {"DescribePCR": {"index": 50}})
    check(r == {"Error": "InvalidIndex"}, "DescribePCR 50: InvalidIndex")
    check(call(fd, "Bogus") == {"Error": "InvalidOperation"},
          "unknown command: InvalidOperation")

    nonce = os.urandom(32)
    r = call(fd, {"Attestation": {"user_data": b"hello", "nonce": nonce,
                                  "public_key": None}})
    doc = r["Attestation"]["document"]
    check(doc[:6] == bytes.fromhex("8444a1013822"),
          "document is an untagged ES384 COSE_Sign1")
    cose = cbor2.loads(doc)
    check(isinstance(cose, list) and len(cose) == 4 and len(cose[3]) == 96,
          "COSE_Sign1 with a 96-byte signature")
    payload = cbor2.loads(cose[2])
    check(list(payload.keys()) ==
          ["module_id", "digest", "timestamp", "pcrs", "certificate",
           "cabundle", "public_key", "user_data", "nonce"],
          "document keys in real-NSM order")
    check(payload["nonce"] == nonce and payload["user_data"] == b"hello"
          and payload["public_key"] is None,
          "document carries nonce and user_data, public_key null")
    check(sorted(payload["pcrs"].keys()) == list(range(16))
          and all(len(v) == 48 for v in payload["pcrs"].values()),
          "document has the 16 locked PCRs")

    rnd = call(fd, "GetRandom")["GetRandom"]["random"]
    check(len(rnd) == 256, "GetRandom: 256 bytes")

    # kernel behaviour: oversize requests, truncation, bad pointers, ioctls
    check(expect_errno(lambda: raw_ioctl(fd, b"\0" * (REQ_MAX + 1)),
                       errno.EMSGSIZE),
          "request of 0x1001 bytes: EMSGSIZE")
    big = cbor2.dumps({"Attestation": {"user_data": b"x" * 4000}})
    check(len(big) <= REQ_MAX and
          "Attestation" in cbor2.loads(raw_ioctl(fd, big)),
          "request of %d bytes served" % len(big))
    head = raw_ioctl(fd, cbor2.dumps("GetRandom"), resp_cap=10)
    check(head == bytes.fromhex("a16947657452616e646f"),
          "response truncated to 10 bytes, response.len = 10")
    check(raw_ioctl(fd, cbor2.dumps("GetRandom"), resp_cap=0) == b"",
          "response capacity 0: nothing copied")
    check(expect_errno(lambda: raw_ioctl(fd, b"\0" * 8, req_addr=8),
                       errno.EFAULT),
          "bad request pointer: EFAULT")
    check(expect_errno(lambda: fcntl.ioctl(fd, 0x5401, bytearray(64)),
                       errno.ENOTTY),
          "other ioctl on /dev/nsm: ENOTTY")
    check(expect_errno(lambda: fcntl.ioctl(fd, 0xC0100A00, bytearray(16)),
                       errno.EINVAL),
          "NSM ioctl with a wrong size: EINVAL")

    # other descriptors pass through untouched
    nul = os.open("/dev/null", os.O_RDWR)
    check(expect_errno(lambda: raw_ioctl(nul, cbor2.dumps("GetRandom")),
                       errno.ENOTTY),
          "NSM_IOCTL_RAW on /dev/null still reaches the kernel (ENOTTY)")
    os.close(nul)

    # several threads at once: one request in flight, every answer intact
    results = []

    def worker():
        for _ in range(25):
            r = call(fd, "GetRandom")
            results.append(len(r["GetRandom"]["random"]))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(results == [256] * 100, "4 threads x 25 GetRandom")

    # dup, close and reopen: still one enclave
    fd2 = os.dup(fd)
    r = call(fd2, {"DescribePCR": {"index": 16}})["DescribePCR"]
    check(r["data"] == hashlib.sha384(b"\0" * 48 + data).digest(),
          "a dup of the descriptor serves the same device")
    os.close(fd)
    os.close(fd2)
    fd = os.open("/dev/nsm", os.O_RDONLY | os.O_CLOEXEC)
    r = call(fd, {"DescribePCR": {"index": 16}})["DescribePCR"]
    check(r["data"] == hashlib.sha384(b"\0" * 48 + data).digest(),
          "close and reopen: the same enclave (PCR 16 kept)")
    with open("/dev/nsm", "rb", buffering=0) as f:
        r = call(f.fileno(), "GetRandom")
        check("GetRandom" in r, "Python's open() of /dev/nsm works too")
    os.close(fd)


def extend_pcr20():
    fd = os.open("/dev/nsm", os.O_RDWR)
    r = call(fd, {"ExtendPCR": {"index": 20, "data": PCR20_DATA}})
    check(r.get("ExtendPCR", {}).get("data") == pcr20_expected(),
          "process A extends PCR 20")
    os.close(fd)


def check_pcr20():
    fd = os.open("/dev/nsm", os.O_RDWR)
    r = call(fd, {"DescribePCR": {"index": 20}})
    check(r.get("DescribePCR", {}).get("data") == pcr20_expected(),
          "process B sees process A's PCR 20")
    os.close(fd)


def bad_pointers(fd, what):
    check("DescribePCR" in call(fd, {"DescribePCR": {"index": 16}}),
          what + ": a request is served")
    check(expect_errno(lambda: raw_ioctl(fd, b"\0" * 8, req_addr=8),
                       errno.EFAULT),
          what + ": bad request pointer: EFAULT")
    check(expect_errno(lambda: raw_ioctl(fd, cbor2.dumps("GetRandom"),
                                         resp_addr=16), errno.EFAULT),
          what + ": bad response pointer: EFAULT")
    check("GetRandom" in call(fd, "GetRandom"),
          what + ": the next request is served")


def fault():
    fd = os.open("/dev/nsm", os.O_RDWR)
    bad_pointers(fd, "default handlers")
    print("%d passed, %d failed" % (passed, failed))
    print("touching address 8")
    sys.stdout.flush()
    if failed == 0:
        ctypes.string_at(8, 1)
    return 1


def own_handler():
    fd = os.open("/dev/nsm", os.O_RDWR)
    check("GetRandom" in call(fd, "GetRandom"), "first request")
    signal.signal(signal.SIGSEGV, lambda signum, frame: None)
    bad_pointers(fd, "program's own SIGSEGV handler")
    os.close(fd)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "all"
    if os.environ.get("TRUSTVIO_NSM_SOCKET") is None:
        print("TRUSTVIO_NSM_SOCKET is not set")
        return 2
    if mode == "all":
        check_all()
    elif mode == "extend-pcr20":
        extend_pcr20()
    elif mode == "check-pcr20":
        check_pcr20()
    elif mode == "fault":
        return fault()
    elif mode == "own-handler":
        own_handler()
    else:
        print(__doc__)
        return 2
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

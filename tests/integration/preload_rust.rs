// SPDX-License-Identifier: MIT
//! An enclave program in Rust, shaped like NSMAPI's driver
//! (`src/driver/mod.rs`): std::fs opens /dev/nsm read-write and the
//! request goes through libc's ioctl(NSM_IOCTL_RAW) with a 0x3000-byte
//! response buffer. No crates: CBOR is written and checked by hand. Run
//! under LD_PRELOAD=libnsm-preload.so against a vhost-user-nsm backend.

use std::fs::OpenOptions;
use std::os::raw::{c_int, c_ulong, c_void};
use std::os::unix::io::AsRawFd;

extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
}

const NSM_IOCTL_RAW: c_ulong = 0xC020_0A00;

#[repr(C)]
struct IoVec {
    addr: u64,
    len: u64,
}

#[repr(C)]
struct NsmRaw {
    request: IoVec,
    response: IoVec,
}

fn raw(fd: c_int, req: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    let mut resp = vec![0u8; 0x3000];
    let mut msg = NsmRaw {
        request: IoVec { addr: req.as_ptr() as u64, len: req.len() as u64 },
        response: IoVec { addr: resp.as_mut_ptr() as u64, len: 0x3000 },
    };
    let rc = unsafe { ioctl(fd, NSM_IOCTL_RAW, &mut msg as *mut NsmRaw as *mut c_void) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    resp.truncate(msg.response.len as usize);
    Ok(resp)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn main() {
    let mut failed = 0;
    let mut check = |ok: bool, what: &str| {
        println!("{}: {}", if ok { "PASS" } else { "FAIL" }, what);
        if !ok {
            failed += 1;
        }
    };
    let file = OpenOptions::new().read(true).write(true).open("/dev/nsm")
        .expect("open /dev/nsm");
    let fd = file.as_raw_fd();

    // "GetRandom" -> {"GetRandom": {"random": h'<256 bytes>'}}
    let r = raw(fd, b"\x69GetRandom").expect("GetRandom");
    let head: &[u8] = b"\xa1\x69GetRandom\xa1\x66random\x59\x01\x00";
    check(r.len() == head.len() + 256 && r.starts_with(head),
          "GetRandom: 256 bytes with the kernel hwrng's header");

    // {"DescribePCR": {"index": 0}} -> lock true, 48 bytes of data
    let mut req = vec![0xa1, 0x6b];
    req.extend_from_slice(b"DescribePCR");
    req.extend_from_slice(&[0xa1, 0x65]);
    req.extend_from_slice(b"index");
    req.push(0x00);
    let r = raw(fd, &req).expect("DescribePCR");
    check(r.windows(6).any(|w| w == b"\x64lock\xf5"), "DescribePCR 0: locked");

    // {"ExtendPCR": {"index": 16, "data": h'0b00374863ff5c65'}}
    let mut req = vec![0xa1, 0x69];
    req.extend_from_slice(b"ExtendPCR");
    req.extend_from_slice(&[0xa2, 0x65]);
    req.extend_from_slice(b"index");
    req.extend_from_slice(&[0x10, 0x64]);
    req.extend_from_slice(b"data");
    req.extend_from_slice(&[0x48, 0x0b, 0x00, 0x37, 0x48, 0x63, 0xff, 0x5c, 0x65]);
    let r = raw(fd, &req).expect("ExtendPCR");
    let want = hex("b33da05a0fdb71627c8c68fc4232281fc440edd6f0ac7467fa497bbb\
                    907db32d957b5fd393845fa02c264ad5ea233888");
    check(r.len() == 1 + 10 + 1 + 5 + 2 + 48 && r.ends_with(&want),
          "ExtendPCR 16: the real-NSM value");

    let big = vec![0u8; 0x1001];
    let e = raw(fd, &big).err().and_then(|e| e.raw_os_error());
    check(e == Some(90), "request of 0x1001 bytes: EMSGSIZE");

    println!("{} failed", failed);
    drop(file);
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

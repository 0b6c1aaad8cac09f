//! Installing Cisco's OpenH264 binary, against real files: a stand-in "library" (random bytes,
//! bzip2-compressed with the same crate the fetcher uses) in a local file, which the transport
//! given to `fetch` reads and counts (the crate does no networking: the app downloads). The real
//! Cisco file cannot be downloaded here; what is checked is the flow around it: consent, hash,
//! install, cache.

use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};

use switchboard_media::openh264_binary::{self, CISCO_NOTICE, sha256_hex};
use switchboard_media::{CiscoBinary, FetchError};

const FILE_NAME: &str = "libopenh264-test.so";

/// A stand-in library: not code, but bytes whose hash is known.
fn library_bytes() -> Vec<u8> {
    // A fixed pseudo-random sequence, so a compression bug cannot hide behind a run of zeros.
    let mut x: u32 = 0x1234_5678;
    (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn bz2(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    encoder.write_all(bytes).expect("compress to memory");
    encoder.finish().expect("compress to memory")
}

/// The stand-in, compressed, in `dir`, and a `CiscoBinary` pointing at it by `file://`.
fn local_binary(source_dir: &Path, sha256: &str) -> CiscoBinary {
    let archive = source_dir.join(format!("{FILE_NAME}.bz2"));
    std::fs::write(&archive, bz2(&library_bytes())).expect("write the archive");
    CiscoBinary {
        url: format!("file://{}", archive.display()),
        sha256: sha256.to_owned(),
        file_name: FILE_NAME.to_owned(),
        approx_download_bytes: 300_000,
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.expect("read the directory").path())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The transport: reads the `file://` URL's file, and counts the downloads.
struct Disk {
    reads: Cell<usize>,
}

impl Disk {
    fn new() -> Self {
        Self {
            reads: Cell::new(0),
        }
    }

    fn get(&self) -> impl FnOnce(&str, u64) -> Result<Vec<u8>, String> + '_ {
        |url, _cap| {
            self.reads.set(self.reads.get() + 1);
            let path = url.strip_prefix("file://").ok_or("not a file URL")?;
            std::fs::read(path).map_err(|e| e.to_string())
        }
    }

    fn reads(&self) -> usize {
        self.reads.get()
    }
}

#[test]
fn consent_is_asked_once_and_the_installed_copy_is_reused() {
    let source = tempfile::tempdir().expect("temp dir");
    let install = tempfile::tempdir().expect("temp dir");
    let dir = install.path().join("openh264");
    let binary = local_binary(source.path(), &sha256_hex(&library_bytes()));
    let disk = Disk::new();

    let mut asked = Vec::new();
    let path = openh264_binary::fetch(
        &binary,
        &dir,
        |request| {
            asked.push(request.clone());
            true
        },
        disk.get(),
    )
    .expect("installed");

    assert_eq!(asked.len(), 1, "consent asked once");
    assert_eq!(asked[0].notice, CISCO_NOTICE);
    assert_eq!(
        asked[0].notice,
        "OpenH264 Video Codec provided by Cisco Systems, Inc."
    );
    assert_eq!(asked[0].url, binary.url);
    assert_eq!(asked[0].approx_download_bytes, 300_000);
    assert_eq!(disk.reads(), 1);
    assert_eq!(path, dir.join(FILE_NAME));
    assert_eq!(
        std::fs::read(&path).expect("installed file"),
        library_bytes(),
        "the installed file is the decompressed library"
    );
    assert_eq!(files_in(&dir), vec![path.clone()], "no temp file left");

    let again = openh264_binary::fetch(
        &binary,
        &dir,
        |_| panic!("a verified copy is used without asking again"),
        disk.get(),
    )
    .expect("already installed");
    assert_eq!(again, path);
    assert_eq!(
        disk.reads(),
        1,
        "the installed copy is not downloaded again"
    );
    assert_eq!(openh264_binary::installed(&binary, &dir), Some(path));
}

#[test]
fn refused_consent_downloads_and_writes_nothing() {
    let source = tempfile::tempdir().expect("temp dir");
    let install = tempfile::tempdir().expect("temp dir");
    let dir = install.path().join("openh264");
    let binary = local_binary(source.path(), &sha256_hex(&library_bytes()));
    let disk = Disk::new();

    let err = openh264_binary::fetch(&binary, &dir, |_| false, disk.get()).expect_err("refused");
    assert!(matches!(err, FetchError::ConsentRefused), "{err}");
    assert_eq!(disk.reads(), 0, "nothing downloaded");
    assert!(!dir.exists(), "nothing written, not even the directory");
    assert_eq!(openh264_binary::installed(&binary, &dir), None);
}

#[test]
fn a_wrong_hash_is_refused_and_nothing_is_installed() {
    let source = tempfile::tempdir().expect("temp dir");
    let install = tempfile::tempdir().expect("temp dir");
    let dir = install.path().join("openh264");
    let pinned = "00".repeat(32);
    let binary = local_binary(source.path(), &pinned);
    let disk = Disk::new();

    let err = openh264_binary::fetch(&binary, &dir, |_| true, disk.get()).expect_err("wrong hash");
    let FetchError::HashMismatch {
        expected, actual, ..
    } = &err
    else {
        panic!("expected a hash mismatch, got {err}");
    };
    assert_eq!(expected, &pinned);
    assert_eq!(actual, &sha256_hex(&library_bytes()));
    let message = err.to_string();
    assert!(
        message.contains(&format!("its SHA-256 is {actual}, expected {pinned}")),
        "{message}"
    );
    assert!(message.contains("nothing was installed"), "{message}");
    assert_eq!(disk.reads(), 1);
    assert_eq!(
        files_in(&dir),
        Vec::<PathBuf>::new(),
        "nothing left in the directory"
    );
}

#[test]
fn a_damaged_installed_copy_is_replaced_not_trusted() {
    let source = tempfile::tempdir().expect("temp dir");
    let install = tempfile::tempdir().expect("temp dir");
    let binary = local_binary(source.path(), &sha256_hex(&library_bytes()));
    let disk = Disk::new();
    let path =
        openh264_binary::fetch(&binary, install.path(), |_| true, disk.get()).expect("installed");

    // One flipped byte, as a disk error or a tampering would leave it.
    let mut damaged = library_bytes();
    damaged[1000] ^= 0xff;
    std::fs::write(&path, &damaged).expect("damage the copy");
    assert_eq!(openh264_binary::installed(&binary, install.path()), None);

    let mut asks = 0;
    let again = openh264_binary::fetch(
        &binary,
        install.path(),
        |_| {
            asks += 1;
            true
        },
        disk.get(),
    )
    .expect("fetched again");
    assert_eq!(asks, 1, "a new download is a new question");
    assert_eq!(disk.reads(), 2);
    assert_eq!(std::fs::read(&again).expect("installed"), library_bytes());
}

#[test]
fn a_damaged_installed_copy_is_removed_when_consent_is_refused() {
    let source = tempfile::tempdir().expect("temp dir");
    let install = tempfile::tempdir().expect("temp dir");
    let binary = local_binary(source.path(), &sha256_hex(&library_bytes()));
    let path = install.path().join(FILE_NAME);
    std::fs::write(&path, b"not the library").expect("a damaged copy");

    let err = openh264_binary::fetch(&binary, install.path(), |_| false, Disk::new().get())
        .expect_err("refused");
    assert!(matches!(err, FetchError::ConsentRefused), "{err}");
    assert!(!path.exists(), "an unverified file is never left behind");
}

#[test]
fn a_failed_download_an_oversized_or_a_non_bzip2_one_is_a_download_error() {
    let source = tempfile::tempdir().expect("temp dir");
    let install = tempfile::tempdir().expect("temp dir");
    let binary = local_binary(source.path(), &sha256_hex(&library_bytes()));

    let err = openh264_binary::fetch(
        &binary,
        install.path(),
        |_| true,
        |_, _| Err("404 Not Found".to_owned()),
    )
    .expect_err("404");
    assert!(matches!(err, FetchError::Download { .. }), "{err}");
    assert!(err.to_string().contains("404 Not Found"), "{err}");

    // A transport that ignores the cap does not get past it.
    let err = openh264_binary::fetch(
        &binary,
        install.path(),
        |_| true,
        |_, cap| Ok(vec![0; cap as usize + 1]),
    )
    .expect_err("too large");
    assert!(matches!(err, FetchError::Download { .. }), "{err}");

    let garbage = source.path().join(format!("{FILE_NAME}.bz2"));
    std::fs::write(&garbage, library_bytes()).expect("write");
    let err = openh264_binary::fetch(&binary, install.path(), |_| true, Disk::new().get())
        .expect_err("not bzip2");
    assert!(err.to_string().contains("not a valid bzip2 file"), "{err}");
    assert_eq!(files_in(install.path()), Vec::<PathBuf>::new());
}

#[test]
fn remove_deletes_the_installed_copy() {
    let source = tempfile::tempdir().expect("temp dir");
    let install = tempfile::tempdir().expect("temp dir");
    let binary = local_binary(source.path(), &sha256_hex(&library_bytes()));
    let path = openh264_binary::fetch(&binary, install.path(), |_| true, Disk::new().get())
        .expect("installed");
    openh264_binary::remove(&binary, install.path()).expect("removed");
    assert!(!path.exists());
    openh264_binary::remove(&binary, install.path()).expect("absent is fine");
}

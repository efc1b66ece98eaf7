//! Redactor throughput benchmark: a 200 MB generated log stream copied file to file in 64 KiB
//! chunks, once plainly and once through the streaming redactor, with peak RSS to show constant
//! memory.
//!
//! What "plain copy of the same stream" means here: the stream is written once to a file in a
//! temp dir (so it sits in the page cache), then copied to another file in that dir with a 64 KiB
//! read/`write_all` loop, the shape of `std::io::copy` and of how hyops moves child output into
//! evidence files. The redactor run does exactly the same reads and writes, plus
//! `StreamRedactor::push_into` (one output buffer reused across chunks) on every chunk and
//! `finish` at the end; the ratio uses that run. A third run calls `push` (a fresh `Vec` per
//! chunk) and is printed for comparison. A memory-to-memory `memcpy`
//! would not be a copy of a *stream* (no syscalls, no page cache) and would measure memory
//! bandwidth instead; writing to `io::sink` would drop the write half the redactor also pays for.
//! The output file is truncated before each timed run, outside the timing; nothing is fsynced
//! (neither run waits for the disk). Each variant runs `RUNS` times, alternating, and the medians
//! are compared.
//!
//! Run: `cargo bench -p hyops-evidence --bench redactor` (release profile). Optional argument: the
//! stream size in MB (default 200).

use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use base64::Engine as _;
use hyops_evidence::{Redactor, StreamRedactor};
use sha2::Digest as _;

const CHUNK: usize = 64 * 1024;
/// Distinct generated chunks cycled through; small so the input itself does not dominate RSS.
const POOL_CHUNKS: usize = 16;
const SECRETS: usize = 100;
/// Timed runs per variant; the median is reported.
const RUNS: usize = 5;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn make_secrets(rng: &mut Rng) -> Vec<(String, String)> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=!";
    (0..SECRETS)
        .map(|i| {
            let len = 12 + rng.below(29);
            let value: String = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
                .collect();
            (format!("secret_{i:03}"), value)
        })
        .collect()
}

/// Log-like text; about one line in 40 carries a secret (plain or base64).
fn make_pool(rng: &mut Rng, secrets: &[(String, String)]) -> Vec<Vec<u8>> {
    const WORDS: &[&str] = &[
        "apply",
        "plan",
        "null_resource.web",
        "module.net",
        "creating",
        "created",
        "reading",
        "refresh",
        "status=ok",
        "elapsed=12ms",
        "id=",
        "provider",
        "registry.terraform.io",
        "local-exec",
        "Still",
        "waiting",
        "after",
        "[0]",
        "{",
        "}",
        "\"url\":",
        "http://127.0.0.1",
    ];
    let mut stream = Vec::with_capacity(POOL_CHUNKS * CHUNK);
    let mut line = 0u64;
    while stream.len() < POOL_CHUNKS * CHUNK {
        stream.extend_from_slice(
            format!(
                "[2026-01-01T00:00:{:02}.{:03}Z] INFO terraform ",
                line % 60,
                line % 1000
            )
            .as_bytes(),
        );
        for _ in 0..(4 + rng.below(10)) {
            stream.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
            stream.push(b' ');
        }
        if rng.below(40) == 0 {
            let (_, value) = &secrets[rng.below(secrets.len())];
            if rng.below(3) == 0 {
                stream.extend_from_slice(
                    base64::engine::general_purpose::STANDARD
                        .encode(value)
                        .as_bytes(),
                );
            } else {
                stream.extend_from_slice(value.as_bytes());
            }
        }
        stream.extend_from_slice(format!("{:016x}\n", rng.next()).as_bytes());
        line += 1;
    }
    stream.truncate(POOL_CHUNKS * CHUNK);
    stream.chunks(CHUNK).map(<[u8]>::to_vec).collect()
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// How the redacted run calls the stream redactor.
enum Redacting<'a> {
    /// `push_into` one output buffer reused across chunks (how evidence writers use it).
    PushInto(&'a mut StreamRedactor),
    /// `push`, a fresh `Vec` per chunk.
    Push(&'a mut StreamRedactor),
}

/// Reads `input` in 64 KiB chunks and writes every chunk to `output`, through `redactor` (and its
/// `finish`) if given; returns the seconds taken and the bytes written.
fn copy_file(input: &Path, output: &Path, mut redactor: Option<Redacting<'_>>) -> (f64, usize) {
    let mut reader = File::open(input).expect("bench input exists");
    let mut writer = File::create(output).expect("bench temp dir is writable");
    let mut buf = vec![0u8; CHUNK];
    let mut redacted = Vec::with_capacity(2 * CHUNK);
    let mut written = 0;
    let start = Instant::now();
    loop {
        let n = reader.read(&mut buf).expect("reading the bench input");
        if n == 0 {
            break;
        }
        let fresh;
        let out = match redactor.as_mut() {
            Some(Redacting::PushInto(r)) => {
                redacted.clear();
                r.push_into(&buf[..n], &mut redacted);
                &redacted
            }
            Some(Redacting::Push(r)) => {
                fresh = r.push(&buf[..n]);
                &fresh
            }
            None => &buf[..n],
        };
        writer.write_all(out).expect("writing the bench output");
        written += out.len();
    }
    if let Some(Redacting::Push(r) | Redacting::PushInto(r)) = redactor {
        let out = r.finish();
        writer.write_all(&out).expect("writing the bench output");
        written += out.len();
    }
    writer.flush().expect("flushing the bench output");
    (start.elapsed().as_secs_f64(), written)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let mb: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let chunks = mb * 1_000_000 / CHUNK;
    let total = (chunks * CHUNK) as f64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let secrets = make_secrets(&mut rng);
    let pool = make_pool(&mut rng, &secrets);
    let pairs: Vec<(&str, &str)> = secrets
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let build = Instant::now();
    let redactor = Redactor::new(&pairs).expect("generated secrets are 12-40 characters");
    let build_ms = build.elapsed().as_secs_f64() * 1e3;

    // Correctness on one pass over the pool: streaming equals one-shot, and no secret survives.
    let whole: Vec<u8> = pool.concat();
    let one_shot = redactor.redact_bytes(&whole);
    let mut check = redactor.stream();
    let mut streamed = Vec::new();
    for c in &pool {
        streamed.extend(check.push(c));
    }
    streamed.extend(check.finish());
    assert_eq!(streamed, one_shot, "streaming differs from one-shot");
    let redactions = one_shot.windows(10).filter(|w| w == b"[REDACTED:").count();
    for (_, v) in &secrets {
        assert!(
            !one_shot.windows(v.len()).any(|w| w == v.as_bytes()),
            "a secret leaked"
        );
    }
    drop((whole, one_shot, streamed));

    let dir = tempfile::tempdir().expect("creating the bench temp dir");
    let input = dir.path().join("stream.log");
    let output = dir.path().join("copy.log");
    {
        let mut f = File::create(&input).expect("bench temp dir is writable");
        for i in 0..chunks {
            f.write_all(&pool[i % POOL_CHUNKS])
                .expect("writing the bench input");
        }
    }
    // Warm the page cache and the code paths once, untimed.
    copy_file(&input, &output, None);
    let hwm_before = vm_hwm_kb();

    let mut copy_times = Vec::new();
    let mut redact_times = Vec::new();
    let mut copied = 0;
    let mut emitted = 0;
    let mut push_times = Vec::new();
    for _ in 0..RUNS {
        let (secs, n) = copy_file(&input, &output, None);
        copy_times.push(secs);
        copied = n;
        let mut stream = redactor.stream();
        let (secs, n) = copy_file(&input, &output, Some(Redacting::PushInto(&mut stream)));
        redact_times.push(secs);
        emitted = n;
        let mut stream = redactor.stream();
        let (secs, n) = copy_file(&input, &output, Some(Redacting::Push(&mut stream)));
        push_times.push(secs);
        assert_eq!(n, emitted, "push and push_into release the same bytes");
    }
    let hwm_after = vm_hwm_kb();
    let copy_s = median(copy_times);
    let redact_s = median(redact_times);
    let push_s = median(push_times);
    // Context: hashing the same stream (evidence digests) and one-shot redaction per chunk.
    let start = Instant::now();
    let mut hasher = sha2::Sha256::new();
    for i in 0..chunks {
        hasher.update(black_box(&pool[i % POOL_CHUNKS]));
    }
    black_box(hasher.finalize());
    let sha_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for i in 0..chunks {
        black_box(redactor.redact_bytes(black_box(&pool[i % POOL_CHUNKS])));
    }
    let one_shot_s = start.elapsed().as_secs_f64();

    let copy_mbs = total / copy_s / 1e6;
    let redact_mbs = total / redact_s / 1e6;
    println!(
        "stream: {:.0} MB in {chunks} chunks of 64 KiB, {SECRETS} secrets (12-40 chars)",
        total / 1e6
    );
    println!(
        "patterns: longest {} bytes, automaton built in {build_ms:.1} ms",
        redactor.longest_pattern()
    );
    println!(
        "redactions per {} KiB pool pass: {redactions}",
        POOL_CHUNKS * CHUNK / 1024
    );
    println!("file-to-file copy, 64 KiB reads/writes, median of {RUNS} runs each:");
    println!("plain copy:      {copy_mbs:>9.0} MB/s ({copied} bytes)");
    println!("stream redactor: {redact_mbs:>9.0} MB/s ({emitted} bytes out, push_into)");
    println!(
        "  with push:      {:>9.0} MB/s (a fresh Vec per chunk)",
        total / push_s / 1e6
    );
    println!(
        "one-shot redact: {:>9.0} MB/s (in memory, per chunk, no hold-back)",
        total / one_shot_s / 1e6
    );
    println!(
        "sha256:          {:>9.0} MB/s (in memory, for context)",
        total / sha_s / 1e6
    );
    println!(
        "ratio redactor/copy: {:.3} (goal >= 0.5)",
        redact_mbs / copy_mbs
    );
    println!("peak RSS (VmHWM): {hwm_before} kB before the timed runs, {hwm_after} kB after");
}

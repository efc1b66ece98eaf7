//! Redactor throughput benchmark: a 200 MB generated log stream through the streaming redactor in
//! 64 KiB chunks, against a plain copy of the same chunks, with peak RSS to show constant memory.
//!
//! Run: `cargo bench -p hyops-evidence --bench redactor` (release profile). Optional argument: the
//! stream size in MB (default 200).

use std::hint::black_box;
use std::time::Instant;

use base64::Engine as _;
use hyops_evidence::Redactor;
use sha2::Digest as _;

const CHUNK: usize = 64 * 1024;
/// Distinct generated chunks cycled through; small so the input itself does not dominate RSS.
const POOL_CHUNKS: usize = 16;
const SECRETS: usize = 100;

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
    let hwm_before = vm_hwm_kb();

    let start = Instant::now();
    let mut sink = Vec::with_capacity(CHUNK);
    let mut copied = 0usize;
    for i in 0..chunks {
        sink.clear();
        sink.extend_from_slice(black_box(&pool[i % POOL_CHUNKS]));
        copied += black_box(&sink).len();
    }
    let copy_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut stream = redactor.stream();
    let mut emitted = 0usize;
    for i in 0..chunks {
        emitted += black_box(stream.push(black_box(&pool[i % POOL_CHUNKS]))).len();
    }
    emitted += stream.finish().len();
    let redact_s = start.elapsed().as_secs_f64();
    let hwm_after = vm_hwm_kb();

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
    println!("plain copy:      {copy_mbs:>9.0} MB/s ({copied} bytes)");
    println!("stream redactor: {redact_mbs:>9.0} MB/s ({emitted} bytes out)");
    println!(
        "one-shot redact: {:>9.0} MB/s (per chunk, no hold-back)",
        total / one_shot_s / 1e6
    );
    println!(
        "sha256:          {:>9.0} MB/s (for context)",
        total / sha_s / 1e6
    );
    println!(
        "ratio redactor/copy: {:.3} (goal >= 0.5)",
        redact_mbs / copy_mbs
    );
    println!("peak RSS (VmHWM): {hwm_before} kB before the timed runs, {hwm_after} kB after");
}

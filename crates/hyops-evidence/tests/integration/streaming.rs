//! Streaming redaction equals one-shot redaction for every way of cutting the stream.

use hyops_evidence::Redactor;
use proptest::prelude::*;

const SECRETS: [(&str, &str); 3] = [
    ("alpha", "s3cr3t-alpha-value"),
    ("beta", "beta/+==value!"),
    ("gamma", "gamma-gamma-gamma-gamma-42"),
];

fn redactor() -> Redactor {
    Redactor::new(&SECRETS).unwrap()
}

fn stream_all(r: &Redactor, chunks: &[&[u8]]) -> Vec<u8> {
    let mut s = r.stream();
    let mut out = Vec::new();
    for c in chunks {
        out.extend(s.push(c));
        assert!(s.held_back() < r.longest_pattern(), "held back too much");
    }
    out.extend(s.finish());
    out
}

#[test]
fn every_split_point_of_a_secret_is_caught() {
    let r = redactor();
    let text = b"before s3cr3t-alpha-value middle gamma-gamma-gamma-gamma-42 after";
    let expected = r.redact_bytes(text);
    assert_eq!(
        expected,
        b"before [REDACTED:alpha] middle [REDACTED:gamma] after"
    );
    for split in 0..=text.len() {
        let (a, b) = text.split_at(split);
        assert_eq!(stream_all(&r, &[a, b]), expected, "split at {split}");
    }
    // Byte-at-a-time, the most adversarial chunking.
    let bytes: Vec<&[u8]> = text.chunks(1).collect();
    assert_eq!(stream_all(&r, &bytes), expected);
}

fn stream_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40),
        2 => proptest::sample::select(vec![
            b"s3cr3t-alpha-value".to_vec(),
            b"beta/+==value!".to_vec(),
            b"gamma-gamma-gamma-gamma-42".to_vec(),
            b"YmV0YS8rPT12YWx1ZSE=".to_vec(),
            b"s3cr3t-alpha-valu".to_vec(),
            b"gamma-gamma-".to_vec(),
        ]),
    ];
    proptest::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn streaming_equals_one_shot_and_leaks_nothing(
        text in stream_text(),
        cuts in proptest::collection::vec(0usize..10_000, 0..12),
    ) {
        let r = redactor();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for c in cuts {
            chunks.push(&text[prev..c]);
            prev = c;
        }
        chunks.push(&text[prev..]);
        let streamed = stream_all(&r, &chunks);
        let one_shot = r.redact_bytes(&text);
        prop_assert_eq!(&streamed, &one_shot);
        for (_, value) in SECRETS {
            let found = streamed.windows(value.len()).any(|w| w == value.as_bytes());
            prop_assert!(!found, "secret leaked");
        }
    }
}

//! JUnit XML for probe results (`probes.junit.xml` in the attempt's evidence), so CI systems can
//! show probes as test cases.

use std::fmt::Write;

use super::ProbeResult;

/// Renders results as one `<testsuite name="probes">`. The caller passes the output through the
/// redactor before writing it (messages may quote values).
pub fn render_junit(results: &[ProbeResult]) -> String {
    let failures = results.iter().filter(|r| !r.passed).count();
    let total_ms: u64 = results.iter().map(|r| r.duration_ms).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // Writing into a String cannot fail.
    let _ = writeln!(
        xml,
        "<testsuite name=\"probes\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{}\">",
        results.len(),
        seconds(total_ms)
    );
    for result in results {
        let _ = write!(
            xml,
            "  <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
            escape(&result.name),
            escape(&result.declared_at),
            seconds(result.duration_ms)
        );
        if result.passed {
            xml.push_str("/>\n");
            continue;
        }
        let _ = writeln!(
            xml,
            ">\n    <failure message=\"{}\" type=\"probe_failed\">expected: {}\nobserved: {}\ntries: {}</failure>\n  </testcase>",
            escape(&result.message),
            escape(&result.expected),
            escape(&result.observed),
            result.tries
        );
    }
    xml.push_str("</testsuite>\n");
    xml
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Escapes text for XML attributes and content. Characters XML 1.0 cannot carry at all (most
/// control characters) become U+FFFD so the document stays well-formed.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, passed: bool, ms: u64) -> ProbeResult {
        ProbeResult {
            name: name.into(),
            declared_at: "modules/web/site/module.yaml:14:5".into(),
            passed,
            tries: 2,
            duration_ms: ms,
            expected: "HTTP 200 with body containing \"<hello> & 'bye'\"".into(),
            observed: "HTTP 503\u{1}".into(),
            message: format!("probe \"{name}\" failed\nline two"),
        }
    }

    #[test]
    fn renders_suite_cases_and_escaped_failures() {
        let xml = render_junit(&[result("up", true, 1500), result("greets", false, 20)]);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<testsuite name=\"probes\" tests=\"2\" failures=\"1\" errors=\"0\" time=\"1.520\">\n  \
<testcase name=\"up\" classname=\"modules/web/site/module.yaml:14:5\" time=\"1.500\"/>\n  \
<testcase name=\"greets\" classname=\"modules/web/site/module.yaml:14:5\" time=\"0.020\">\n    \
<failure message=\"probe &quot;greets&quot; failed&#10;line two\" type=\"probe_failed\">expected: HTTP 200 with body containing &quot;&lt;hello&gt; &amp; &apos;bye&apos;&quot;\nobserved: HTTP 503\u{FFFD}\ntries: 2</failure>\n  \
</testcase>\n</testsuite>\n"
        );
    }

    #[test]
    fn empty_suite() {
        assert!(
            render_junit(&[]).contains("tests=\"0\" failures=\"0\" errors=\"0\" time=\"0.000\"")
        );
    }
}

//! Runs the real `zitadel-passkey` binary against mocks started in-process, over every transport.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use zitadel_passkey_mock::{Code, Fault, MockServer, Transport};

const BIN: &str = env!("CARGO_BIN_EXE_zitadel-passkey");
const TRANSPORTS: [&str; 3] = ["grpc", "grpc-web", "json"];
const TOKEN: &str = "tok-Secret-7Yx2";
const USER: &str = "218000000000000001";
const ORG: &str = "218000000000000002";
const ORIGIN: &str = "https://id.example.test";

/// What one run of the binary gave.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts neither stream shows the test token.
    fn assert_no_token(&self) -> &Self {
        assert!(!self.stdout.contains(TOKEN), "token on stdout: {self:?}");
        assert!(!self.stderr.contains(TOKEN), "token on stderr: {self:?}");
        self
    }

    /// The first line on stderr.
    fn error_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }
}

/// Runs the binary with a clean environment (no ZITADEL_*), at most 60 s.
async fn cli<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    cli_env(args, &[]).await
}

async fn cli_env<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Run {
    cli_env_without(args, env, &[]).await
}

/// [`cli_env`], with the variables `remove` unset as well.
async fn cli_env_without<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    env: &[(&str, &str)],
    remove: &[&str],
) -> Run {
    let mut command = tokio::process::Command::new(BIN);
    command
        .args(args)
        .env_remove("ZITADEL_URL")
        .env_remove("ZITADEL_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        // No stored login of the machine's user may stand in for a missing token.
        .env("ZITADEL_PASSKEY_STORE", "file")
        .env(
            "ZITADEL_PASSKEY_CONFIG_DIR",
            std::env::temp_dir().join("zitadel-passkey-cli-tests-never-signed-in"),
        )
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for key in remove {
        command.env_remove(key);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the binary finished within 60 s")
        .expect("the binary ran");
    Run {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A mock with a fixed seed, clock and origin, so that a twin answers byte for byte the same.
async fn fixed_mock(seed: u64) -> MockServer {
    MockServer::builder()
        .seed(seed)
        .fixed_clock(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
        .public_origin(ORIGIN)
        .user(TOKEN, USER, ORG)
        .start()
        .await
        .expect("mock starts")
}

/// A plain REST call on the mock with a raw HTTP/1.1 request: the mock's own answer.
async fn rest(mock: &MockServer, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(mock.local_addr())
        .await
        .expect("connects");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}",
        mock.local_addr()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("answer read");
    let raw = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").expect("chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

fn endpoint_args<'a>(mock_uri: &'a str, transport: &'a str) -> Vec<&'a str> {
    vec![
        "--endpoint",
        mock_uri,
        "--transport",
        transport,
        "--token",
        TOKEN,
    ]
}

// ---------------------------------------------------------------------------------------------
// QR decoding

/// Decodes a QR code in a greyscale bitmap (`true` = dark), scaled up with a light margin.
fn decode_bitmap(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    const SCALE: usize = 4;
    const MARGIN: usize = 8;
    let (w, h) = ((width + 2 * MARGIN) * SCALE, (height + 2 * MARGIN) * SCALE);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let (x, y) = (x / SCALE, y / SCALE);
        let inside = x >= MARGIN && y >= MARGIN && x - MARGIN < width && y - MARGIN < height;
        if inside && dark(x - MARGIN, y - MARGIN) {
            0
        } else {
            255
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    let (_meta, content) = grids[0].decode().expect("the QR code decodes");
    content
}

/// Removes ANSI SGR sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Finds the half-block drawing in the text output, turns it back into modules and decodes it.
/// `ink_is_dark` is false for `--qr inverted`.
fn decode_terminal(stdout: &str, ink_is_dark: bool) -> String {
    let plain = strip_ansi(stdout);
    let is_block_line =
        |l: &&str| !l.is_empty() && l.chars().all(|c| matches!(c, ' ' | '▀' | '▄' | '█'));
    let lines: Vec<Vec<char>> = plain
        .lines()
        .skip_while(|l| !is_block_line(l))
        .take_while(is_block_line)
        .map(|l| l.chars().collect())
        .collect();
    assert!(
        lines.len() >= 11,
        "a QR drawing of at least 21 rows:\n{stdout}"
    );
    let width = lines[0].len();
    assert!(lines.iter().all(|l| l.len() == width), "a square drawing");
    // A quiet zone of 4 light modules on every side.
    let light = if ink_is_dark { ' ' } else { '█' };
    for line in &lines[..2] {
        assert!(line.iter().all(|c| *c == light), "quiet zone at the top");
    }
    for line in &lines {
        assert!(line[..4].iter().all(|c| *c == light), "quiet zone, left");
        assert!(
            line[width - 4..].iter().all(|c| *c == light),
            "quiet zone, right"
        );
    }
    decode_bitmap(width, lines.len() * 2, |x, y| {
        let c = lines[y / 2][x];
        let ink = if y % 2 == 0 {
            matches!(c, '█' | '▀')
        } else {
            matches!(c, '█' | '▄')
        };
        ink == ink_is_dark
    })
}

fn decode_png(path: &Path) -> String {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("PNG written"));
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let (w, h) = (info.width as usize, info.height as usize);
    assert!(
        w >= 200 && w == h,
        "a square image of a useful size: {w}x{h}"
    );
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * info.line_size + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the PNG");
    grids[0].decode().expect("the PNG's QR code decodes").1
}

/// Rasterises qrcode's SVG (a background rect and one path of `M x y h w v h H x V y` squares)
/// and decodes it.
fn decode_svg(path: &Path) -> String {
    let svg = std::fs::read_to_string(path).expect("SVG written");
    assert!(
        svg.contains("<svg") && svg.ends_with("</svg>"),
        "an SVG: {svg}"
    );
    let attr = |name: &str| -> usize {
        let start = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        svg[start..]
            .split('"')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("a number")
    };
    let (w, h) = (attr("width"), attr("height"));
    let d_start = svg.find(" d=\"").expect("a path") + 4;
    let d = svg[d_start..].split('"').next().expect("path data");
    let mut dark = vec![false; w * h];
    for square in d.split('M').filter(|s| !s.is_empty()) {
        let numbers: Vec<usize> = square
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("a number"))
            .collect();
        let [left, top, width, height, ..] = numbers[..] else {
            panic!("a square: {square}")
        };
        for y in top..top + height {
            for x in left..left + width {
                dark[y * w + x] = true;
            }
        }
    }
    decode_bitmap(w, h, |x, y| dark[y * w + x])
}

// ---------------------------------------------------------------------------------------------
// link

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_json_is_exactly_the_mocks_answer_on_every_transport() {
    for (i, transport) in TRANSPORTS.into_iter().enumerate() {
        let seed = 40 + i as u64;
        let (mock, twin) = (fixed_mock(seed).await, fixed_mock(seed).await);
        let uri = mock.uri();
        let mut args = vec!["link", "--output", "json"];
        args.extend(endpoint_args(&uri, transport));
        let run = cli(&args).await;
        run.assert_no_token();
        assert_eq!(run.code, 0, "{transport}: {run:?}");
        assert_eq!(run.stderr, "", "{transport}: nothing on stderr");

        let (status, answer) = rest(&twin, "POST", "/auth/v1/users/me/passwordless/_link").await;
        assert_eq!(status, 200);
        assert_eq!(run.stdout, format!("{answer}\n"), "{transport}");

        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        let live = mock.live_codes();
        assert_eq!(live.len(), 1);
        assert_eq!(json["link"], live[0].link.as_str());
        assert!(live[0].link.starts_with(&format!(
            "{ORIGIN}/ui/login/login/passwordless/init?userID={USER}&orgID={ORG}&codeID="
        )));
        assert_eq!(json["expiration"], "3600s");
        assert_eq!(json["details"]["resourceOwner"], ORG);
        let sequence = mock
            .users()
            .iter()
            .find(|u| u.user_id == USER)
            .map(|u| u.sequence);
        assert_eq!(
            json["details"]["sequence"].as_str(),
            sequence.map(|s| s.to_string()).as_deref()
        );
        assert_eq!(json["details"]["creationDate"], "2027-01-15T08:00:00Z");
        assert!(json["details"].get("changeDate").is_none());

        let journal = mock.journal();
        assert_eq!(journal.len(), 1, "one call, no retry");
        assert_eq!(journal[0].method, "AddMyPasswordlessLink");
        assert_eq!(
            journal[0].transport,
            transport.parse::<Transport>().expect("known")
        );
        assert_eq!(journal[0].code, Some(Code::Ok));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_text_has_the_link_expiry_and_qr_codes_that_decode_to_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    for transport in TRANSPORTS {
        let mock = fixed_mock(7).await;
        let uri = mock.uri();
        let png = dir.path().join(format!("{transport}.png"));
        let svg = dir.path().join(format!("{transport}.svg"));
        let (png_arg, svg_arg) = (png.to_string_lossy(), svg.to_string_lossy());
        let mut args = vec!["link", "--qr-png", &png_arg, "--qr-svg", &svg_arg];
        args.extend(endpoint_args(&uri, transport));
        let run = cli(&args).await;
        run.assert_no_token();
        assert_eq!(run.code, 0, "{transport}: {run:?}");
        assert_eq!(run.stderr, "");

        let link = mock.live_codes()[0].link.clone();
        assert!(
            run.stdout.lines().any(|l| l == link),
            "the link on a line of its own: {}",
            run.stdout
        );
        assert!(run.stdout.contains("(in 60 minutes)"), "{}", run.stdout);
        assert!(run.stdout.contains(&format!("for user {USER}")));
        // Not a TTY and no --qr: plain half blocks, no escape sequences.
        assert!(!run.stdout.contains('\x1b'));
        assert_eq!(
            decode_terminal(&run.stdout, true),
            link,
            "{transport}: terminal"
        );
        assert_eq!(decode_png(&png), link, "{transport}: PNG");
        assert_eq!(decode_svg(&svg), link, "{transport}: SVG");
    }
}

/// The secrets sweep's CLI part: with `--verbose` and every crate at TRACE (`RUST_LOG=trace`),
/// on every transport, the token appears nowhere and the one-time code only inside the link
/// (the QR code carries it as modules, not as text).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_output_shows_no_token_and_the_code_only_in_the_link() {
    for transport in TRANSPORTS {
        let mock = fixed_mock(11).await;
        let uri = mock.uri();
        let mut args = vec!["--verbose", "link"];
        args.extend(endpoint_args(&uri, transport));
        let run = cli_env(&args, &[("RUST_LOG", "trace")]).await;
        run.assert_no_token();
        assert_eq!(run.code, 0, "{transport}: {run:?}");
        assert!(
            run.stderr.contains("TRACE") && run.stderr.contains("zitadel_passkey"),
            "{transport}: no TRACE log on stderr: {}",
            run.stderr
        );
        let live = &mock.live_codes()[0];
        assert!(
            run.stdout.contains(&live.link),
            "{transport}: {}",
            run.stdout
        );
        assert!(
            !run.stdout.replace(&live.link, "").contains(&live.code),
            "{transport}: the code outside the link: {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains(&live.code),
            "{transport}: the code in the log: {}",
            run.stderr
        );
    }
}

// `link --open`, on Linux and the BSDs, where the browser crate honours $BROWSER.

/// Every variable through which the browser crate (or the CLI's display check) could find a
/// browser on Linux and the BSDs besides PATH: the tests unset them all.
#[cfg(all(unix, not(target_os = "macos")))]
const BROWSER_ENV: [&str; 12] = [
    "BROWSER",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XDG_CURRENT_DESKTOP",
    "DESKTOP_SESSION",
    "KDE_FULL_SESSION",
    "KDE_SESSION_VERSION",
    "container",
    "WSL_DISTRO_NAME",
    "WSL_INTEROP",
    "XDG_DATA_HOME",
    "XDG_DATA_DIRS",
];

/// Runs the binary where the only browser is `browser` (as $BROWSER; `None`: none at all): no
/// display, no desktop, and PATH an empty directory, so that no xdg-settings, desktop opener or
/// x-www-browser of this machine is found.
#[cfg(all(unix, not(target_os = "macos")))]
async fn cli_with_browser(
    args: &[&str],
    browser: Option<&Path>,
    empty_dir: &Path,
    env: &[(&str, &str)],
) -> Run {
    let path = empty_dir.to_str().expect("a UTF-8 temp dir");
    let browser = browser.map(|b| b.to_str().expect("a UTF-8 temp dir"));
    let mut env = env.to_vec();
    env.push(("PATH", path));
    env.extend(browser.map(|b| ("BROWSER", b)));
    cli_env_without(args, &env, &BROWSER_ENV).await
}

#[cfg(all(unix, not(target_os = "macos")))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_open_without_a_browser_exits_0_with_a_note() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("created");
    let mock = fixed_mock(21).await;
    let uri = mock.uri();

    // $BROWSER names a command that does not exist (the crate's error), and nothing else is
    // found; then no $BROWSER and no display at all (the CLI's own check).
    let missing = dir.path().join("no-such-browser");
    for (i, browser) in [Some(missing.as_path()), None].into_iter().enumerate() {
        let mut args = vec!["link", "--open", "--qr", "none"];
        args.extend(endpoint_args(&uri, TRANSPORTS[i]));
        let run = cli_with_browser(&args, browser, &empty, &[]).await;
        run.assert_no_token();
        assert_eq!(run.code, 0, "{browser:?}: {run:?}");
        let live = mock.live_codes();
        assert_eq!(live.len(), i + 1, "{browser:?}");
        let link = &live[i].link;
        assert!(
            run.stdout.lines().any(|l| l == link),
            "{browser:?}: the link on a line of its own: {run:?}"
        );
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "{browser:?}: one line: {run:?}"
        );
        let note = run.error_line();
        assert!(
            note.starts_with("note: could not open a browser: ")
                && note.ends_with("; open the link above by hand"),
            "{browser:?}: {note}"
        );
        if browser.is_none() {
            assert!(note.contains("DISPLAY"), "{note}");
        }
        assert!(!run.stderr.contains(&live[i].code), "the code on stderr");
        assert_eq!(
            mock.journal().len(),
            i + 1,
            "{browser:?}: one call, no retry"
        );
    }

    // With --output json, stdout is still the response and nothing else.
    let mut args = vec!["link", "--open", "--output", "json"];
    args.extend(endpoint_args(&uri, "json"));
    let run = cli_with_browser(&args, Some(&missing), &empty, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("only JSON");
    assert_eq!(json["link"], mock.live_codes()[2].link.as_str());
    assert!(
        run.error_line()
            .starts_with("note: could not open a browser: "),
        "{run:?}"
    );
    assert_eq!(mock.journal().len(), 3, "one call each");
}

/// The browser really gets the link: $BROWSER is a script that writes its argument to a file.
/// With --verbose and every crate at TRACE, stderr shows neither the code nor the browser
/// crate's log of the command line it ran.
#[cfg(all(unix, not(target_os = "macos")))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_open_hands_the_link_to_the_browser_and_logs_no_code() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("created");
    let recorded = dir.path().join("recorded-url");
    let script = dir.path().join("record-browser");
    // Shell built-ins only: PATH is an empty directory.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > '{}'\n",
            recorded.display()
        ),
    )
    .expect("script written");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("made executable");

    let mock = fixed_mock(22).await;
    let uri = mock.uri();
    for (i, transport) in TRANSPORTS.into_iter().enumerate() {
        let _ = std::fs::remove_file(&recorded);
        let mut args = vec!["--verbose", "link", "--open"];
        args.extend(endpoint_args(&uri, transport));
        let run = cli_with_browser(&args, Some(&script), &empty, &[("RUST_LOG", "trace")]).await;
        run.assert_no_token();
        assert_eq!(run.code, 0, "{transport}: {run:?}");
        let live = &mock.live_codes()[i];
        assert!(
            run.stdout.lines().any(|l| l == live.link),
            "{transport}: {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains("could not open"),
            "{transport}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(&live.code),
            "{transport}: the code on stderr: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("webbrowser"),
            "{transport}: the browser crate's log: {}",
            run.stderr
        );

        // The crate starts a graphical browser in the background: wait for the script.
        let started = Instant::now();
        let url = loop {
            match std::fs::read_to_string(&recorded) {
                Ok(text) if text.ends_with('\n') => break text,
                _ if started.elapsed() > Duration::from_secs(20) => {
                    panic!("{transport}: the browser script did not run")
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        assert_eq!(url.trim_end_matches('\n'), live.link, "{transport}");
        assert_eq!(
            mock.journal().len(),
            i + 1,
            "{transport}: one call, no retry"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_terminal_style_decodes() {
    let mock = fixed_mock(8).await;
    let uri = mock.uri();
    for (style, ink_is_dark) in [("color", true), ("plain", true), ("inverted", false)] {
        let mut args = vec!["link", "--qr", style];
        args.extend(endpoint_args(&uri, "grpc"));
        let run = cli(&args).await;
        assert_eq!(run.code, 0, "{run:?}");
        let link = mock.live_codes().last().expect("a code").link.clone();
        assert_eq!(decode_terminal(&run.stdout, ink_is_dark), link, "{style}");
        if style == "color" {
            // Black on white, reset at the end of every line so no colour bleeds.
            let qr_lines = run.stdout.lines().filter(|l| l.contains('\x1b'));
            for line in qr_lines {
                assert!(line.starts_with("\x1b[30;107m") && line.ends_with("\x1b[0m"));
            }
        }
    }
    let mut args = vec!["link", "--qr", "none"];
    args.extend(endpoint_args(&uri, "grpc"));
    let run = cli(&args).await;
    assert_eq!(run.code, 0);
    assert!(!run.stdout.contains('█'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_endpoint_starts_the_embedded_mock() {
    for transport in TRANSPORTS {
        let run = cli(&["link", "--output", "json", "--transport", transport]).await;
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stderr.contains("embedded mock"), "{}", run.stderr);
        assert!(run.stderr.contains("\"demo-token\""), "{}", run.stderr);
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("only JSON");
        let link = json["link"].as_str().expect("a link");
        assert!(link.starts_with("http://127.0.0.1:"), "{link}");
        assert!(link.contains("/ui/login/login/passwordless/init?userID="));
        assert_eq!(json["expiration"], "3600s");
    }

    // Text, with the QR code; a given token is used but not shown.
    let run = cli(&["link", "--token", TOKEN]).await;
    run.assert_no_token();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("your token"));
    let link = run
        .stdout
        .lines()
        .find(|l| l.starts_with("http://127.0.0.1:"))
        .expect("the link");
    assert_eq!(decode_terminal(&run.stdout, true), link);

    // The environment variables stand in for the flags: with ZITADEL_URL the mock is not needed.
    let mock = fixed_mock(9).await;
    let run = cli_env(
        &["link", "--output", "json"],
        &[("ZITADEL_URL", &mock.uri()), ("ZITADEL_TOKEN", TOKEN)],
    )
    .await;
    run.assert_no_token();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    assert_eq!(mock.journal().len(), 1);

    for command in ["send", "list"] {
        let run = cli(&[command]).await;
        assert_eq!(run.code, 0, "{command}: {run:?}");
        assert!(run.stderr.contains("embedded mock"));
    }
}

// ---------------------------------------------------------------------------------------------
// send, list, remove

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_list_and_remove_on_every_transport() {
    for (i, transport) in TRANSPORTS.into_iter().enumerate() {
        let seed = 60 + i as u64;
        let (mock, twin) = (fixed_mock(seed).await, fixed_mock(seed).await);
        let uri = mock.uri();
        let base = endpoint_args(&uri, transport);
        let with = |command: &[&str]| -> Vec<String> {
            command
                .iter()
                .chain(base.iter())
                .map(|s| s.to_string())
                .collect()
        };

        // send: JSON equal to the twin's answer; the link is in the outbox.
        let run = cli(&with(&["send", "--output", "json"])).await;
        run.assert_no_token();
        assert_eq!(run.code, 0, "{transport}: {run:?}");
        let (_, answer) = rest(&twin, "POST", "/auth/v1/users/me/passwordless/_send_link").await;
        assert_eq!(run.stdout, format!("{answer}\n"), "{transport}");
        assert_eq!(mock.outbox().len(), 1);
        let run = cli(&with(&["send"])).await;
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("e-mails"), "{}", run.stdout);
        assert_eq!(mock.outbox().len(), 2);

        // list
        let run = cli(&with(&["list"])).await;
        assert_eq!((run.code, run.stdout.as_str()), (0, "No passkeys.\n"));
        let id = mock.add_passkey(USER, "Windows Hello");
        let run = cli(&with(&["list"])).await;
        assert_eq!(run.code, 0, "{run:?}");
        let row = run.stdout.lines().nth(1).expect("a row");
        assert!(
            row.starts_with(&id) && row.contains("READY") && row.ends_with("Windows Hello"),
            "{row}"
        );
        let run = cli(&with(&["list", "--output", "json"])).await;
        let (_, answer) = rest(&mock, "POST", "/auth/v1/users/me/passwordless/_search").await;
        assert_eq!(run.stdout, format!("{answer}\n"), "{transport}");
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(json["result"][0]["id"], id.as_str());

        // remove
        let run = cli(&with(&["remove", &id, "--output", "json"])).await;
        assert_eq!(run.code, 0, "{run:?}");
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(json["details"]["resourceOwner"], ORG);
        assert!(json["details"]["changeDate"].is_string());
        let user = mock.users().into_iter().find(|u| u.user_id == USER);
        assert!(user.expect("the user").passkeys.is_empty());
        let run = cli(&with(&["remove", &id])).await;
        assert_eq!(run.code, 4, "removing twice: {run:?}");
        assert_eq!(
            run.error_line(),
            "error: NOT_FOUND (MOCK-tkn02): Errors.User.WebAuthN.NotFound"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// errors and exit codes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_and_permission_errors_exit_3() {
    let mock = MockServer::builder()
        .strict(true)
        .user("the-only-good-token", USER, ORG)
        .start()
        .await
        .expect("mock starts");
    let uri = mock.uri();
    for transport in TRANSPORTS {
        // Unknown token on a strict mock.
        let run = cli(&[
            "link",
            "--endpoint",
            &uri,
            "--transport",
            transport,
            "--token",
            TOKEN,
        ])
        .await;
        run.assert_no_token();
        assert_eq!(run.code, 3, "{transport}: {run:?}");
        assert_eq!(run.stdout, "");
        assert_eq!(
            run.error_line(),
            "error: UNAUTHENTICATED (AUTH-7fs1e): the token is invalid or expired"
        );
        assert!(
            run.stderr
                .lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("hint: "))
        );

        // No token at all.
        let run = cli(&["list", "--endpoint", &uri, "--transport", transport]).await;
        assert_eq!(run.code, 3, "{transport}: {run:?}");
        assert_eq!(
            run.error_line(),
            "error: UNAUTHENTICATED: no token was sent"
        );
        assert!(run.stderr.contains("ZITADEL_TOKEN"));

        // An organisation that does not exist.
        let run = cli(&[
            "link",
            "--endpoint",
            &uri,
            "--transport",
            transport,
            "--token",
            "the-only-good-token",
            "--org-id",
            "999",
        ])
        .await;
        assert_eq!(run.code, 3, "{transport}: {run:?}");
        assert_eq!(
            run.error_line(),
            "error: PERMISSION_DENIED (AUTH-Bs7Ds): the organisation given with --org-id does not exist"
        );
        assert!(run.stderr.contains("--org-id"));
    }
    assert!(mock.live_codes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_api_errors_exit_4() {
    let mock = MockServer::builder()
        .user("no-user-token", "", ORG)
        .start()
        .await
        .expect("mock starts");
    let uri = mock.uri();
    for transport in TRANSPORTS {
        let run = cli(&[
            "link",
            "--endpoint",
            &uri,
            "--transport",
            transport,
            "--token",
            "no-user-token",
        ])
        .await;
        assert_eq!(run.code, 4, "{transport}: {run:?}");
        assert_eq!(
            run.error_line(),
            "error: FAILED_PRECONDITION (COMMAND-GVfg3): the token carries no user ID"
        );

        // A status the server chose to answer with, message passed through as sent.
        mock.push_fault(Fault::error(
            Code::Unavailable,
            "MOCK-x1",
            "Errors.Internal.Busy",
        ));
        let mut args = vec!["link"];
        args.extend(endpoint_args(&uri, transport));
        let run = cli(&args).await;
        assert_eq!(run.code, 4, "{transport}: {run:?}");
        assert_eq!(
            run.error_line(),
            "error: UNAVAILABLE (MOCK-x1): Errors.Internal.Busy"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_failures_and_timeouts_exit_5() {
    // A port that was free a moment ago: connection refused.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        listener.local_addr().expect("an address")
    };
    let uri = format!("http://{closed}");
    for transport in TRANSPORTS {
        let mut args = vec!["link"];
        args.extend(endpoint_args(&uri, transport));
        let run = cli(&args).await;
        run.assert_no_token();
        assert_eq!(run.code, 5, "{transport}: {run:?}");
        assert!(
            run.error_line().starts_with("error: UNAVAILABLE"),
            "{run:?}"
        );
        assert!(run.stderr.contains("hint: check --endpoint"));
    }

    // The server sits on the call for 10 s; --timeout 0.5 gives up long before.
    let mock = fixed_mock(3).await;
    let uri = mock.uri();
    for transport in TRANSPORTS {
        mock.push_fault(Fault::delay(Duration::from_secs(10)));
        let mut args = vec!["link", "--timeout", "0.5"];
        args.extend(endpoint_args(&uri, transport));
        let started = Instant::now();
        let run = cli(&args).await;
        assert_eq!(run.code, 5, "{transport}: {run:?}");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "the timeout was honoured"
        );
        assert!(
            run.error_line().starts_with("error: DEADLINE_EXCEEDED"),
            "{transport}: {run:?}"
        );
        assert!(run.stderr.contains("--timeout"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_exits_6_and_is_not_retried() {
    let mock = fixed_mock(5).await;
    let uri = mock.uri();
    for (i, transport) in TRANSPORTS.into_iter().enumerate() {
        mock.push_fault(Fault::drop_after_handler());
        let mut args = vec!["link"];
        args.extend(endpoint_args(&uri, transport));
        let run = cli(&args).await;
        run.assert_no_token();
        assert_eq!(run.code, 6, "{transport}: {run:?}");
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.contains("may have created a link"),
            "{}",
            run.stderr
        );
        // The server did create a code, and the CLI did not ask for a second one.
        assert_eq!(mock.live_codes().len(), i + 1, "{transport}");
        assert_eq!(mock.journal().len(), i + 1, "{transport}: one call only");
    }

    // A proxy's 502 in front of the server: the outcome is unknown as well.
    mock.push_fault(Fault::proxy_status(502));
    let mut args = vec!["link"];
    args.extend(endpoint_args(&uri, "json"));
    let run = cli(&args).await;
    assert_eq!(run.code, 6, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    for args in [
        vec!["link", "--transport", "carrier-pigeon"],
        vec!["link", "--output", "yaml"],
        vec!["link", "--timeout", "0"],
        vec!["link", "--timeout", "soon"],
        vec!["remove"],
        vec!["frobnicate"],
        vec![],
        vec!["link", "--endpoint", "ftp://example.com"],
        vec!["link", "--endpoint", "not a url"],
        vec!["link", "--endpoint", "http://example.com"],
    ] {
        let run = cli(&args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
    let run = cli(&["link", "--endpoint", "http://example.com"]).await;
    assert!(run.stderr.contains("--insecure-http"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_or_org_id_that_cannot_be_a_header_is_a_usage_error() {
    // Refused by the SDK before anything is sent: a bad argument (2), not a network failure (5),
    // and the token is not shown.
    let mock = fixed_mock(11).await;
    let uri = mock.uri();
    let bad_token = format!("{TOKEN}\nx");
    for transport in TRANSPORTS {
        for (flag, value) in [("--token", bad_token.as_str()), ("--org-id", "a\nb")] {
            let mut args = vec!["list", "--endpoint", &uri, "--transport", transport];
            args.extend([flag, value]);
            if flag == "--org-id" {
                args.extend(["--token", TOKEN]);
            }
            let run = cli(&args).await;
            run.assert_no_token();
            assert_eq!(run.code, 2, "{transport} {flag}: {run:?}");
            assert_eq!(run.stdout, "", "{transport} {flag}");
            assert!(
                !run.stderr.contains("hint: check --endpoint"),
                "{transport} {flag}: {run:?}"
            );
        }
    }
    assert!(mock.journal().is_empty(), "nothing reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_may_start_with_a_dash() {
    // Base64url tokens can start with `-`: `--token VALUE` takes them (clap would otherwise read
    // a flag, and repeat the token in its error).
    let token = "--dashed-Secret-9Qz";
    let mock = MockServer::builder()
        .strict(true)
        .user(token, USER, ORG)
        .start()
        .await
        .expect("mock starts");
    let uri = mock.uri();
    for token in [token, "-dashed-Secret-9Qz"] {
        let run = cli(&[
            "list",
            "--endpoint",
            &uri,
            "--token",
            token,
            "--output",
            "json",
        ])
        .await;
        assert!(!run.stderr.contains("Secret"), "{run:?}");
        if token.starts_with("--") {
            assert_eq!(run.code, 0, "{run:?}");
            assert_eq!(run.stdout, "{}\n");
        } else {
            assert_eq!(run.code, 3, "not a configured token: {run:?}");
        }
    }
    assert_eq!(mock.journal().len(), 2, "both calls reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_expiration_a_server_can_send_is_shown_not_a_panic() {
    // 315576000000s (10 000 years) is a valid google.protobuf.Duration.
    let mock = MockServer::builder()
        .code_ttl(Duration::from_secs(315_576_000_000))
        .start()
        .await
        .expect("mock starts");
    let uri = mock.uri();
    for transport in TRANSPORTS {
        let mut args = vec!["link", "--qr", "none"];
        args.extend(endpoint_args(&uri, transport));
        let run = cli(&args).await;
        assert_eq!(run.code, 0, "{transport}: {run:?}");
        assert!(run.stdout.contains("unrepresentable time"), "{run:?}");
        assert!(run.stdout.contains("days"), "{run:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_examples_and_exit_codes_and_hides_the_token() {
    for command in [
        vec![],
        vec!["link"],
        vec!["send"],
        vec!["list"],
        vec!["remove"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let run = cli_env(&args, &[("ZITADEL_TOKEN", TOKEN)]).await;
        run.assert_no_token();
        assert_eq!(run.code, 0, "{args:?}");
        assert!(run.stdout.contains("Examples:"), "{args:?}");
        assert!(run.stdout.contains("Exit codes:"), "{args:?}");
        for code in ["3  authentication", "5  network", "6  outcome unknown"] {
            assert!(run.stdout.contains(code), "{args:?}");
        }
    }
    let run = cli(&["link", "--help"]).await;
    for flag in [
        "--endpoint",
        "--transport",
        "--token",
        "--org-id",
        "--timeout",
        "--output",
        "--qr-png",
        "--qr-svg",
        "--open",
        "ZITADEL_URL",
        "ZITADEL_TOKEN",
    ] {
        assert!(run.stdout.contains(flag), "{flag}");
    }
}

// ---------------------------------------------------------------------------------------------
// hostile servers

/// An HTTP/1.1 answer with a correct content-length.
fn http(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Serves `answer` to every connection, after reading the request head, for a few connections.
async fn hostile_server(answer: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        for _ in 0..8 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 64 * 1024];
                let _ =
                    tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
                let _ = stream.write_all(&answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_server_never_makes_it_panic() {
    let answers = [
        http(
            "200 OK",
            "application/json",
            br#"{"link":"\u001b[31mnot a url at all"}"#,
        ),
        http(
            "200 OK",
            "application/json",
            br#"{"link":"https://x.test/?code=abc\u001b[2J","expiration":"-5s"}"#,
        ),
        http(
            "401 Unauthorized",
            "application/json",
            br#"{"code":16,"message":"\u001b]0;pwned\u0007\nsecond line"}"#,
        ),
        http(
            "200 OK",
            "application/grpc-web+proto",
            b"\x00\xff\xff\xff\xff\x01\x02\x03\x04",
        ),
        b"\x00\x00\x12\x04\x00\x00\x00\x00\x00garbage that is not HTTP at all\r\n\r\n".to_vec(),
    ];
    for answer in answers {
        let uri = hostile_server(answer).await;
        for transport in TRANSPORTS {
            let mut args = vec!["link", "--timeout", "5"];
            args.extend(endpoint_args(&uri, transport));
            let run = cli(&args).await;
            run.assert_no_token();
            assert!(
                (3..=6).contains(&run.code),
                "{transport}: a documented failure, not a panic (101): {run:?}"
            );
            assert!(run.error_line().starts_with("error: "), "{run:?}");
            assert!(
                !run.stderr.contains('\x1b') && !run.stderr.contains('\x07'),
                "{run:?}"
            );
            assert!(run.stderr.lines().count() <= 2, "{run:?}");
            assert!(!run.stderr.contains("panicked"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// local failures, logging

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_image_exits_1_after_showing_the_link() {
    let mock = fixed_mock(11).await;
    let uri = mock.uri();
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir").join("link.png");
    let missing = missing.to_string_lossy();
    let mut args = vec!["link", "--output", "json", "--qr-png", &missing];
    args.extend(endpoint_args(&uri, "json"));
    let run = cli(&args).await;
    run.assert_no_token();
    assert_eq!(run.code, 1, "{run:?}");
    // The link was created, so it is shown all the same.
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["link"], mock.live_codes()[0].link.as_str());
    assert!(
        run.error_line().starts_with("error: cannot write "),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_calls_without_the_token_or_the_code() {
    let mock = fixed_mock(12).await;
    let uri = mock.uri();
    let mut args = vec!["--verbose", "link", "--output", "json"];
    args.extend(endpoint_args(&uri, "grpc-web"));
    let run = cli(&args).await;
    run.assert_no_token();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("AddMyPasswordlessLink"),
        "{}",
        run.stderr
    );
    let code = mock.live_codes()[0].code.clone();
    assert!(!run.stderr.contains(&code), "the one-time code in the log");
    assert!(
        !run.stderr.contains('\x1b'),
        "no colours when stderr is not a terminal"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_via_ca_cert() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a cert");
    let mock = MockServer::builder()
        .tls(cert.cert.pem(), cert.signing_key.serialize_pem())
        .start()
        .await
        .expect("mock starts");
    let uri = format!("https://localhost:{}", mock.local_addr().port());
    let dir = tempfile::tempdir().expect("temp dir");
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, cert.cert.pem()).expect("written");
    let pem = pem.to_string_lossy();

    for transport in TRANSPORTS {
        let mut args = vec!["link", "--output", "json", "--ca-cert", &pem];
        args.extend(endpoint_args(&uri, transport));
        let run = cli(&args).await;
        run.assert_no_token();
        assert_eq!(run.code, 0, "{transport}: {run:?}");
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        let link = json["link"].as_str().expect("a link");
        assert!(link.starts_with(&format!("{uri}/ui/login/")), "{link}");

        // Without the CA the certificate is refused before anything is sent.
        let mut args = vec!["link"];
        args.extend(endpoint_args(&uri, transport));
        let run = cli(&args).await;
        run.assert_no_token();
        assert_eq!(run.code, 5, "{transport}: {run:?}");
        assert!(
            run.stderr.contains("--ca-cert"),
            "{transport}: {}",
            run.stderr
        );
    }
    assert_eq!(mock.live_codes().len(), 3, "only the trusted calls arrived");

    for bad in ["/nonexistent/ca.pem", "/dev/null"] {
        let run = cli(&["list", "--endpoint", &uri, "--ca-cert", bad]).await;
        assert_eq!(run.code, 2, "{bad}: {run:?}");
        assert!(run.error_line().starts_with("error: cannot read --ca-cert"));
    }
}

/// `link --open` on the embedded mock: the browser gets the link on `localhost` (where the
/// mock's page runs a WebAuthn registration), and the command keeps the mock serving until the
/// link is done for. The "browser" here is a script that saves the page and then tries a wrong
/// code three times, which removes the code and so ends the wait.
#[cfg(all(unix, not(target_os = "macos")))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_open_on_the_embedded_mock_serves_the_page_until_the_link_is_done() {
    use std::os::unix::fs::PermissionsExt as _;

    let Some(curl) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("curl"))
        .find(|path| path.is_file())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "curl is missing (.ci/install-tools installs it)"
        );
        eprintln!("skipped: no curl on PATH");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("created");
    let recorded = dir.path().join("recorded-url");
    let page = dir.path().join("page.html");
    let script = dir.path().join("browser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > '{recorded}'\n\
             '{curl}' -sS -o '{page}' \"$1\"\n\
             for try in 1 2 3; do '{curl}' -sS -o /dev/null \"$1&code=wrongwrong12\"; done\n",
            recorded = recorded.display(),
            curl = curl.display(),
            page = page.display(),
        ),
    )
    .expect("script written");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("made executable");

    let started = Instant::now();
    let run = cli_with_browser(
        &["link", "--open", "--qr", "none"],
        Some(&script),
        &empty,
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let url = std::fs::read_to_string(&recorded).expect("the browser was started");
    assert!(url.starts_with("http://localhost:"), "{url}");
    assert!(url.contains("/ui/login/login/passwordless/init?"), "{url}");
    let printed = run
        .stdout
        .lines()
        .find(|l| l.starts_with("http://127.0.0.1:"))
        .expect("the link");
    assert_eq!(
        url.trim_end().trim_start_matches("http://localhost"),
        printed.trim_start_matches("http://127.0.0.1"),
        "the same page on localhost"
    );
    let html = std::fs::read_to_string(&page).expect("the page was fetched");
    assert!(
        html.contains("Register passwordless"),
        "a registration page: {html}"
    );
    assert!(
        run.stderr.contains("keeps serving the link's page"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no longer valid"), "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

//! The grpc-go peer's generated Go code (`tests/peers/grpc-go/gen/`), from the same protox
//! descriptor set as the Rust code.
//!
//! Why this shape: protoc-gen-go and protoc-gen-go-grpc are protoc plugins, programs that read a
//! `CodeGeneratorRequest` on stdin and answer a `CodeGeneratorResponse` on stdout; protoc's own
//! part is parsing, which protox already did. So xtask writes the request itself and pipes it to
//! each plugin: no protoc, no Go driver program. The plugins run with `go tool`; their versions are
//! the `tool` lines of the peer's `go.mod` (checked by its `go.sum`), so there is nothing to install.
//!
//! `--check` must not need Go, so it does not run the plugins: `gen/CODEGEN` holds the SHA-256 of
//! the request (the protos and the plugin parameters), of `go.mod` (the plugin versions) and of
//! every generated file (no hand edits), and `--check` recomputes them. A plain `cargo xtask
//! codegen` runs Go only when one of them differs. A new protox that encodes the same protos in
//! other bytes changes the request's sum: then rerun `cargo xtask codegen` with Go.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use prost::Message;
use prost::bytes::Buf;
use prost::encoding::{WireType, decode_key, decode_varint, encode_key, encode_varint};
use prost_types::FileDescriptorSet;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use sha2::{Digest, Sha256};

/// The Go module, relative to the workspace root.
pub const PEER_DIR: &str = "tests/peers/grpc-go";
/// The Go module's path (its `go.mod`); generated packages live below it in `gen/`.
const MODULE: &str = "zitadel-passkey/grpc-go-peer";
/// The generated tree, relative to [`PEER_DIR`].
const GEN_DIR: &str = "gen";
/// The manifest of sums, relative to [`PEER_DIR`].
const MANIFEST: &str = "gen/CODEGEN";
/// The plugins, as `go tool` names them.
const PLUGINS: &[&str] = &["protoc-gen-go", "protoc-gen-go-grpc"];

/// Writes (or, with `--check`, verifies) the Go code; returns what is stale in check mode.
pub fn sync(
    root: &Path,
    descriptor_bytes: &[u8],
    descriptors: &FileDescriptorSet,
    mode: crate::codegen::Mode,
) -> Result<Vec<String>> {
    let peer = root.join(PEER_DIR);
    let request = request(descriptor_bytes, descriptors)?;
    let go_mod = fs::read(peer.join("go.mod")).context("reading the grpc-go peer's go.mod")?;
    let stale = verify(&peer, &request, &go_mod)?;
    if stale.is_empty() || mode == crate::codegen::Mode::Check {
        return Ok(stale
            .into_iter()
            .map(|s| format!("{PEER_DIR}/{s} (needs Go to regenerate)"))
            .collect());
    }
    let mut files = BTreeMap::new();
    for plugin in PLUGINS {
        for (name, content) in run_plugin(&peer, plugin, &request)? {
            ensure!(
                name.starts_with(&format!("{GEN_DIR}/")) && !name.contains(".."),
                "{plugin} wrote {name}, outside {GEN_DIR}/"
            );
            ensure!(
                files.insert(name.clone(), content).is_none(),
                "two plugins wrote {name}"
            );
        }
    }
    write_tree(&peer, &files)?;
    let manifest = manifest(&request, &go_mod, &files);
    fs::write(peer.join(MANIFEST), manifest)?;
    eprintln!("wrote {PEER_DIR}/{GEN_DIR} ({} files)", files.len());
    Ok(Vec::new())
}

/// The `CodeGeneratorRequest` both plugins get.
///
/// The descriptors are copied byte for byte from protox's encoding rather than re-encoded by
/// prost: prost drops the `google.api.http` method options (extensions it does not know), and
/// the Go code embeds each file's descriptor. A `FileDescriptorSet` is `repeated
/// FileDescriptorProto file = 1`; the request has them as `proto_file = 15`.
fn request(descriptor_bytes: &[u8], descriptors: &FileDescriptorSet) -> Result<Vec<u8>> {
    let names: Vec<&str> = descriptors.file.iter().map(|f| f.name()).collect();
    let mut parameter = vec![format!("module={MODULE}"), "paths=import".to_owned()];
    let mut generate = Vec::new();
    for file in &descriptors.file {
        let (import_path, ours) = go_package(file.name(), file.package())?;
        parameter.push(format!("M{}={import_path}", file.name()));
        if ours {
            generate.push(file.name().to_owned());
        }
    }
    ensure!(
        names.iter().any(|n| n.starts_with("zitadel/")),
        "no zitadel protos in the descriptor set"
    );
    let mut out = CodeGeneratorRequest {
        file_to_generate: generate,
        parameter: Some(parameter.join(",")),
        ..Default::default()
    }
    .encode_to_vec();
    let mut rest = descriptor_bytes;
    while rest.has_remaining() {
        let (field, wire) = decode_key(&mut rest)?;
        ensure!(
            field == 1 && wire == WireType::LengthDelimited,
            "unexpected field {field} in the descriptor set"
        );
        let len = usize::try_from(decode_varint(&mut rest)?)?;
        ensure!(len <= rest.len(), "a truncated descriptor set");
        encode_key(15, WireType::LengthDelimited, &mut out);
        encode_varint(len as u64, &mut out);
        out.extend_from_slice(&rest[..len]);
        rest.advance(len);
    }
    Ok(out)
}

/// The Go import path of a proto file (`path;name`), and whether it is generated here.
///
/// The well-known types and `google.rpc.Status` come with the Go modules grpc-go already uses
/// (two copies of one proto type in a Go binary panic at start); our own packages and the
/// `google.api` subset are generated under `gen/`, one Go package per proto package.
fn go_package(file: &str, package: &str) -> Result<(String, bool)> {
    let known = match file {
        "google/protobuf/any.proto" => Some("google.golang.org/protobuf/types/known/anypb"),
        "google/protobuf/duration.proto" => {
            Some("google.golang.org/protobuf/types/known/durationpb")
        }
        "google/protobuf/timestamp.proto" => {
            Some("google.golang.org/protobuf/types/known/timestamppb")
        }
        "google/protobuf/empty.proto" => Some("google.golang.org/protobuf/types/known/emptypb"),
        "google/protobuf/descriptor.proto" => Some("google.golang.org/protobuf/types/descriptorpb"),
        "google/rpc/status.proto" => Some("google.golang.org/genproto/googleapis/rpc/status"),
        other if other.starts_with("google/protobuf/") => {
            bail!("no Go package known for {other}; add it to xtask/src/codegen_go.rs")
        }
        _ => None,
    };
    if let Some(path) = known {
        return Ok((path.to_owned(), false));
    }
    ensure!(!package.is_empty(), "{file} has no package");
    let segments: Vec<&str> = package.split('.').collect();
    let last = segments[segments.len() - 1];
    let is_version =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    let name = match segments.len() {
        n if n >= 2 && is_version => format!("{}{last}", segments[n - 2]),
        _ => last.to_owned(),
    };
    Ok((
        format!("{MODULE}/{GEN_DIR}/{};{name}", segments.join("/")),
        true,
    ))
}

/// Runs one plugin on the request; the files it answered, by path relative to the module.
fn run_plugin(peer: &Path, plugin: &str, request: &[u8]) -> Result<Vec<(String, String)>> {
    let mut child = Command::new("go")
        .args(["tool", plugin])
        .current_dir(peer)
        .env("GOFLAGS", "-mod=readonly")
        .env("GOTOOLCHAIN", "local")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("running `go tool` (the grpc-go peer's code needs Go to regenerate)")?;
    let mut stdin = child.stdin.take().context("the plugin's stdin")?;
    let output = std::thread::scope(|scope| {
        scope.spawn(move || stdin.write_all(request));
        child.wait_with_output()
    })?;
    ensure!(output.status.success(), "go tool {plugin} failed");
    let response = CodeGeneratorResponse::decode(output.stdout.as_slice())
        .with_context(|| format!("decoding {plugin}'s answer"))?;
    if let Some(error) = response.error {
        bail!("{plugin}: {error}");
    }
    response
        .file
        .into_iter()
        .map(|file| {
            ensure!(
                file.insertion_point().is_empty(),
                "{plugin} used an insertion point"
            );
            Ok((file.name().to_owned(), file.content().to_owned()))
        })
        .collect()
}

/// Makes `gen/` hold exactly `files` (paths relative to the module).
fn write_tree(peer: &Path, files: &BTreeMap<String, String>) -> Result<()> {
    for stale in generated_files(peer)? {
        if !files.contains_key(&stale) {
            fs::remove_file(peer.join(&stale))?;
            eprintln!("removed {PEER_DIR}/{stale}");
        }
    }
    for (name, content) in files {
        let path = peer.join(name);
        if fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        fs::create_dir_all(path.parent().context("a file at the root")?)?;
        fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {PEER_DIR}/{name}");
    }
    Ok(())
}

/// The `.go` files under `gen/`, relative to the module, sorted.
fn generated_files(peer: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        if !dir.exists() {
            return Ok(());
        }
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "go") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut paths = Vec::new();
    walk(&peer.join(GEN_DIR), &mut paths)?;
    let mut names = paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(peer)?;
            Ok(rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"))
        })
        .collect::<Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn manifest(request: &[u8], go_mod: &[u8], files: &BTreeMap<String, String>) -> String {
    let mut out = String::from(
        "# @generated by cargo xtask codegen, do not edit: the SHA-256 of what the Go code in this\n\
         # folder was generated from and of each file, so `cargo xtask codegen --check` needs no Go.\n",
    );
    out.push_str(&format!("request {}\n", sha256(request)));
    out.push_str(&format!("go.mod {}\n", sha256(go_mod)));
    for (name, content) in files {
        out.push_str(&format!("{name} {}\n", sha256(content.as_bytes())));
    }
    out
}

/// What differs from the manifest (empty: the committed Go code is fresh).
fn verify(peer: &Path, request: &[u8], go_mod: &[u8]) -> Result<Vec<String>> {
    let Ok(text) = fs::read_to_string(peer.join(MANIFEST)) else {
        return Ok(vec![format!("{MANIFEST} (missing)")]);
    };
    let mut stale = Vec::new();
    let mut listed = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let Some((name, sum)) = line.split_once(' ') else {
            stale.push(format!("{MANIFEST} (a malformed line)"));
            continue;
        };
        let actual = match name {
            "request" => Some(sha256(request)),
            "go.mod" => Some(sha256(go_mod)),
            file => {
                listed.push(file.to_owned());
                fs::read(peer.join(file)).ok().map(|b| sha256(&b))
            }
        };
        match actual {
            None => stale.push(format!("{name} (missing)")),
            Some(actual) if actual != sum => stale.push(match name {
                "request" => "gen/ (proto/ or the plugin parameters changed)".to_owned(),
                "go.mod" => "gen/ (go.mod, so maybe the plugin versions, changed)".to_owned(),
                file => format!("{file} (differs)"),
            }),
            Some(_) => {}
        }
    }
    for file in generated_files(peer)? {
        if !listed.contains(&file) {
            stale.push(format!("{file} (not generated)"));
        }
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_packages() {
        assert_eq!(
            go_package("zitadel/auth.proto", "zitadel.auth.v1").unwrap(),
            (format!("{MODULE}/gen/zitadel/auth/v1;authv1"), true)
        );
        assert_eq!(
            go_package("zitadel/object.proto", "zitadel.v1").unwrap(),
            (format!("{MODULE}/gen/zitadel/v1;zitadelv1"), true)
        );
        assert_eq!(
            go_package("google/api/http.proto", "google.api").unwrap(),
            (format!("{MODULE}/gen/google/api;api"), true)
        );
        assert!(
            !go_package("google/rpc/status.proto", "google.rpc")
                .unwrap()
                .1
        );
        assert!(go_package("google/protobuf/struct.proto", "google.protobuf").is_err());
    }
}

//! S3 plumbing for the repository-backend tests: a real S3-compatible server (moto's
//! standalone server, which scripts/test.sh installs into .cache/py) on a free loopback port,
//! raw std-only HTTP helpers to set up and inspect buckets without sharing code with the
//! client under test, and [`FaultProxy`], an HTTP/1.1 proxy in front of it that answers S3
//! errors, resets connections or stalls on a seeded share of the requests it is told to
//! target, and records every request it saw.
//!
//! What moto 5.2.1 does that the tests depend on (found in its source and tried by hand;
//! the part minimum is also pinned by `s3_moto_enforces_the_5_mib_part_minimum`):
//! - **Multipart minimum**: every part but the last must hold at least 5 MiB
//!   ([`MIN_PART_SIZE`] = 5,242,880 bytes, moto's `S3_UPLOAD_PART_MIN_SIZE` default, the
//!   same limit as AWS). `UploadPart` accepts a smaller part; `CompleteMultipartUpload`
//!   then fails with `400 EntityTooSmall` and the upload stays pending. The last part, and
//!   so a one-part upload, may be of any size. [`S3Server::start`] removes
//!   `S3_UPLOAD_PART_MIN_SIZE` from moto's environment, so the real limit always applies.
//! - **No signature checks**: any `Authorization` header (or none) is accepted, but an
//!   object GET/HEAD without one is answered `403` (anonymous read of a private object).
//!   The raw helpers send [`AUTH`], a well-formed but unsigned SigV4 header.
//! - A body sent as `application/x-www-form-urlencoded` (curl's default) is consumed by
//!   the WSGI layer and stored as 0 bytes: raw PUTs send [`OCTET`].
//! - moto closes every connection after one answer (`Connection: close`); the proxy keeps
//!   its client connections alive anyway and opens one upstream connection per request.
//! - `PUT /bucket` on an existing bucket answers 200 (us-east-1 behaviour).
//!
//! Credentials reach a `nodewarden` child through [`S3Server::env`] (via [`command`] or
//! [`run_env`], which also drop every inherited `AWS_*` variable), never through argv.

mod http;
mod proxy;
mod selftest;
mod server;
mod xml;

pub use http::{Conn, Response, encode, request};
pub use proxy::{FaultProxy, Faults, Outcome, Request};
pub use server::{S3Server, command, run_env};

/// moto's (and AWS's) minimum size of every multipart part but the last.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// A well-formed SigV4 `Authorization` header with a dummy signature: moto checks none,
/// but reads private objects only for requests that carry one.
pub const AUTH: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000",
);

/// The content type for raw PUTs (see the module docs on form bodies).
pub const OCTET: (&str, &str) = ("Content-Type", "application/octet-stream");

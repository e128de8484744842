//! `s3://bucket/prefix` folders through the `object_store` crate: listing, ranged reads (8 MiB at a
//! time), and writes that appear whole or not at all (a file is written locally, then uploaded in one
//! PUT, or as a multipart upload above 16 MiB, only when the task commits it). Credentials and region
//! come from the usual AWS environment variables; `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) points at an
//! S3-compatible server.

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use trove_core::{AtomicFile, Error, Result, Storage};

const RANGE: u64 = 8 << 20;
const MULTIPART_ABOVE: u64 = 16 << 20;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("trove-s3")
            .build()
            .unwrap_or_else(|e| panic!("cannot start the S3 client's runtime: {e}"))
    })
}

fn err(url: &str, e: impl std::fmt::Display) -> Error {
    Error::io(url, std::io::Error::other(e.to_string()))
}

/// A folder in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Storage {
    store: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
}

/// Opens `s3://bucket/prefix` (registered with trove-core as the `s3` scheme).
pub fn open(url: &str) -> Result<Arc<dyn Storage>> {
    let rest =
        url.strip_prefix("s3://").ok_or_else(|| Error::config(format!("`{url}` is not an s3:// URL")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::config(format!("`{url}`: no bucket")));
    }
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT")).ok();
    if let Some(endpoint) = endpoint {
        builder = builder
            .with_allow_http(endpoint.starts_with("http://"))
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        builder = builder.with_region("us-east-1");
    }
    let store = builder.build().map_err(|e| Error::config(format!("`{url}`: {e}")))?;
    Ok(Arc::new(S3Storage {
        store: Arc::new(store),
        bucket: bucket.to_string(),
        prefix: prefix.trim_matches('/').to_string(),
    }))
}

impl S3Storage {
    fn key(&self, path: &str) -> ObjectPath {
        let path = path.trim_matches('/');
        ObjectPath::from(match (self.prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{path}", self.prefix),
        })
    }
}

impl Storage for S3Storage {
    fn list(&self, subdir: &str, recursive: bool) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let base = self.key(subdir);
        let url = self.resolve(subdir);
        let objects: Vec<object_store::ObjectMeta> =
            runtime().block_on(self.store.list(Some(&base)).try_collect()).map_err(|e| err(&url, e))?;
        let strip = if self.prefix.is_empty() { 0 } else { self.prefix.len() + 1 };
        let sub = subdir.trim_matches('/');
        let mut out: Vec<String> = objects
            .into_iter()
            .map(|o| o.location.to_string())
            .filter_map(|k| k.get(strip..).map(String::from))
            .filter(|rel| {
                let below = if sub.is_empty() {
                    rel.as_str()
                } else {
                    rel.strip_prefix(sub).unwrap_or("").trim_start_matches('/')
                };
                recursive || !below.contains('/')
            })
            .collect();
        out.sort();
        Ok(out)
    }

    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>> {
        let key = self.key(path);
        let url = self.resolve(path);
        let meta = runtime().block_on(self.store.head(&key)).map_err(|e| err(&url, e))?;
        Ok(Box::new(RangeReader {
            store: self.store.clone(),
            key,
            url,
            size: meta.size,
            pos: 0,
            buf: Vec::new(),
            at: 0,
        }))
    }

    fn create(&self, path: &str) -> Result<Box<dyn AtomicFile>> {
        let url = self.resolve(path);
        let local = tempfile::NamedTempFile::new().map_err(|e| Error::io(&url, e))?;
        Ok(Box::new(S3File { store: self.store.clone(), key: self.key(path), url, local: Some(local) }))
    }

    fn exists(&self, path: &str) -> Result<bool> {
        match runtime().block_on(self.store.head(&self.key(path))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(err(&self.resolve(path), e)),
        }
    }

    fn remove(&self, path: &str) -> Result<()> {
        match runtime().block_on(self.store.delete(&self.key(path))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(err(&self.resolve(path), e)),
        }
    }

    fn resolve(&self, path: &str) -> String {
        let key = self.key(path);
        format!("s3://{}/{}", self.bucket, key)
    }

    fn local_path(&self, _path: &str) -> Option<PathBuf> {
        None
    }
}

/// Reads an object in 8 MiB ranges.
struct RangeReader {
    store: Arc<AmazonS3>,
    key: ObjectPath,
    url: String,
    size: u64,
    pos: u64,
    buf: Vec<u8>,
    at: usize,
}

impl Read for RangeReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.buf.len() {
            if self.pos >= self.size {
                return Ok(0);
            }
            let end = (self.pos + RANGE).min(self.size);
            let bytes = runtime()
                .block_on(self.store.get_range(&self.key, self.pos..end))
                .map_err(|e| std::io::Error::other(format!("{}: {e}", self.url)))?;
            self.pos = end;
            self.buf = bytes.to_vec();
            self.at = 0;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A file staged locally and uploaded on commit: readers never see part of it.
struct S3File {
    store: Arc<AmazonS3>,
    key: ObjectPath,
    url: String,
    local: Option<tempfile::NamedTempFile>,
}

impl Write for S3File {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.local.as_mut().ok_or_else(|| std::io::Error::other("file already committed"))?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.local.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl AtomicFile for S3File {
    fn commit(mut self: Box<Self>) -> Result<()> {
        let url = self.url.clone();
        let mut local = self.local.take().ok_or_else(|| Error::config(format!("{url}: committed twice")))?;
        local.flush().map_err(|e| Error::io(&url, e))?;
        let size = local.as_file().metadata().map_err(|e| Error::io(&url, e))?.len();
        local.rewind().map_err(|e| Error::io(&url, e))?;
        let file = local.as_file_mut();
        if size <= MULTIPART_ABOVE {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).map_err(|e| Error::io(&url, e))?;
            runtime()
                .block_on(self.store.put(&self.key, PutPayload::from(bytes)))
                .map_err(|e| err(&url, e))?;
            return Ok(());
        }
        let store = self.store.clone();
        let key = self.key.clone();
        runtime().block_on(async {
            let upload = store.put_multipart(&key).await.map_err(|e| err(&url, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 << 20);
            let mut chunk = vec![0u8; 8 << 20];
            loop {
                let n = file.read(&mut chunk).map_err(|e| Error::io(&url, e))?;
                if n == 0 {
                    break;
                }
                writer.write(&chunk[..n]);
            }
            writer.finish().await.map_err(|e| err(&url, e))?;
            Ok::<(), Error>(())
        })
    }

    fn path(&self) -> &str {
        &self.url
    }
}

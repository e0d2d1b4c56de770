//! Where backups and the erasure journal go: a local directory (written
//! to a temporary name, flushed to disk, then renamed: a file that is
//! there is whole), or S3-compatible object storage through the
//! `object_store` crate (`s3://bucket/prefix`, credentials from the usual
//! `AWS_*` environment variables; `?endpoint=…&region=…` for storage that
//! is not Amazon's). Keys are paths like `backups/varuh-….age`.

use anyhow::{bail, Context};
use futures::TryStreamExt;
use object_store::{path::Path as ObjectPath, ObjectStore, WriteMultipart};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone)]
pub struct Destination {
    /// How the operator named it (no secret is ever in it).
    pub name: String,
    place: Place,
}

#[derive(Clone)]
enum Place {
    Local(PathBuf),
    S3 { store: Arc<dyn ObjectStore>, prefix: String },
}

/// An object at a destination.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Destination {
    /// `file:///path`, an absolute path, or `s3://bucket[/prefix][?endpoint=URL&region=R]`.
    pub fn parse(url: &str) -> anyhow::Result<Destination> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("s3://") {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
            if bucket.is_empty() {
                bail!("backup destination {url}: no bucket (s3://bucket/prefix)");
            }
            let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                match &*k {
                    "endpoint" => {
                        b = b.with_endpoint(v.to_string()).with_allow_http(v.starts_with("http://"));
                    }
                    "region" => b = b.with_region(v.to_string()),
                    other => bail!("backup destination {bucket}: unknown setting {other:?} (endpoint, region)"),
                }
            }
            let store = b.build().map_err(|e| anyhow::anyhow!("backup destination s3://{bucket}: {e}"))?;
            let name = format!("s3://{path}");
            return Ok(Destination {
                name,
                place: Place::S3 { store: Arc::new(store), prefix: prefix.trim_matches('/').to_string() },
            });
        }
        let dir = url.strip_prefix("file://").unwrap_or(url);
        if !dir.starts_with('/') {
            bail!("backup destination {url:?}: give an absolute directory, file:///dir, or s3://bucket/prefix");
        }
        Ok(Destination { name: dir.to_string(), place: Place::Local(PathBuf::from(dir)) })
    }

    fn object(prefix: &str, key: &str) -> ObjectPath {
        if prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{prefix}/{key}"))
        }
    }

    /// Stores a file under `key` (whole or not at all).
    pub async fn put_file(&self, key: &str, file: &Path) -> anyhow::Result<()> {
        match &self.place {
            Place::Local(dir) => {
                let (dir, key, file) = (dir.clone(), key.to_string(), file.to_path_buf());
                tokio::task::spawn_blocking(move || {
                    let mut src = std::fs::File::open(&file)?;
                    write_local(&dir, &key, &mut |out| std::io::copy(&mut src, out).map(|_| ()))
                })
                .await?
            }
            Place::S3 { store, prefix } => {
                use tokio::io::AsyncReadExt;
                let upload = store.put_multipart(&Self::object(prefix, key)).await.map_err(s3)?;
                let mut w = WriteMultipart::new_with_chunk_size(upload, 8 << 20);
                let mut f = tokio::fs::File::open(file).await?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    w.wait_for_capacity(4).await.map_err(s3)?;
                    w.write(&buf[..n]);
                }
                w.finish().await.map_err(s3)?;
                Ok(())
            }
        }
    }

    /// The file of an object at a local directory (read in place); none for object storage.
    pub fn local_file(&self, key: &str) -> Option<PathBuf> {
        match &self.place {
            Place::Local(dir) => Some(dir.join(key)),
            Place::S3 { .. } => None,
        }
    }

    /// Stores a small object.
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        match &self.place {
            Place::Local(dir) => {
                let (dir, key) = (dir.clone(), key.to_string());
                tokio::task::spawn_blocking(move || {
                    write_local(&dir, &key, &mut |out| std::io::Write::write_all(out, &bytes))
                })
                .await?
            }
            Place::S3 { store, prefix } => {
                store.put(&Self::object(prefix, key), bytes.into()).await.map_err(s3)?;
                Ok(())
            }
        }
    }

    /// Copies an object into a local file.
    pub async fn get_to_file(&self, key: &str, file: &Path) -> anyhow::Result<()> {
        match &self.place {
            Place::Local(dir) => {
                let from = dir.join(key);
                tokio::fs::copy(&from, file).await.with_context(|| format!("cannot read {}", from.display()))?;
                Ok(())
            }
            Place::S3 { store, prefix } => {
                use tokio::io::AsyncWriteExt;
                let mut s = store.get(&Self::object(prefix, key)).await.map_err(s3)?.into_stream();
                let mut f = tokio::fs::File::create(file).await?;
                while let Some(chunk) = s.try_next().await.map_err(s3)? {
                    f.write_all(&chunk).await?;
                }
                f.flush().await?;
                Ok(())
            }
        }
    }

    /// Reads a small object.
    pub async fn get_bytes(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        match &self.place {
            Place::Local(dir) => {
                let p = dir.join(key);
                tokio::fs::read(&p).await.with_context(|| format!("cannot read {}", p.display()))
            }
            Place::S3 { store, prefix } => {
                Ok(store.get(&Self::object(prefix, key)).await.map_err(s3)?.bytes().await.map_err(s3)?.to_vec())
            }
        }
    }

    /// The objects under `dir/` (one level), by key.
    pub async fn list(&self, dir: &str) -> anyhow::Result<Vec<Listed>> {
        let mut out = match &self.place {
            Place::Local(root) => {
                let d = root.join(dir);
                let mut out = Vec::new();
                let mut rd = match tokio::fs::read_dir(&d).await {
                    Ok(rd) => rd,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && root.is_dir() => return Ok(out),
                    Err(e) => return Err(e).with_context(|| format!("cannot list {}", d.display())),
                };
                while let Some(e) = rd.next_entry().await? {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') || !e.file_type().await?.is_file() {
                        continue;
                    }
                    out.push(Listed { key: format!("{dir}/{name}"), size: e.metadata().await?.len() });
                }
                out
            }
            Place::S3 { store, prefix } => {
                let at = Self::object(prefix, dir);
                let listed: Vec<_> = store.list(Some(&at)).try_collect().await.map_err(s3)?;
                let cut = if prefix.is_empty() { 0 } else { prefix.len() + 1 };
                listed
                    .into_iter()
                    .map(|m| Listed { key: m.location.as_ref()[cut..].to_string(), size: m.size })
                    .filter(|l| l.key.matches('/').count() == dir.matches('/').count() + 1)
                    .collect()
            }
        };
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match &self.place {
            Place::Local(dir) => match tokio::fs::remove_file(dir.join(key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
            Place::S3 { store, prefix } => match store.delete(&Self::object(prefix, key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(s3(e)),
            },
        }
    }
}

/// An object store's error, without anything but its kind and key (its
/// messages carry no credentials; they may carry the server's reply).
fn s3(e: object_store::Error) -> anyhow::Error {
    anyhow::anyhow!("object storage: {e}")
}

/// Writes `dir/key` by way of a temporary file: flushed to disk, renamed,
/// and the directory flushed too, so that a crash leaves the old state or
/// the whole new file.
fn write_local(
    dir: &Path,
    key: &str,
    fill: &mut dyn FnMut(&mut std::fs::File) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let to = dir.join(key);
    let parent = to.parent().unwrap_or(dir).to_path_buf();
    std::fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".{name}.partial"));
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        fill(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &to)?;
        std::fs::File::open(&parent)?.sync_all()
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.with_context(|| format!("cannot write {}", to.display()))
}

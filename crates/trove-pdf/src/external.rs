//! Running poppler's programs (`pdftoppm`, `pdfinfo`, `pdftotext`) under a deadline.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why an external program gave no result.
#[derive(Debug)]
pub enum RunError {
    /// It failed or could not start: the message says how.
    Failed(String),
    /// It ran past the deadline and was killed.
    Timeout,
}

/// Runs `cmd` to the end within `deadline`; its stdout, or why not.
pub fn run(cmd: &mut Command, deadline: Instant) -> std::result::Result<Vec<u8>, RunError> {
    let out_file = tempfile::tempfile().map_err(|e| RunError::Failed(e.to_string()))?;
    let err_file = tempfile::tempfile().map_err(|e| RunError::Failed(e.to_string()))?;
    let (mut out_read, mut err_read) = (
        out_file.try_clone().map_err(|e| RunError::Failed(e.to_string()))?,
        err_file.try_clone().map_err(|e| RunError::Failed(e.to_string()))?,
    );
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| RunError::Failed(format!("cannot run {:?}: {e}", cmd.get_program())))?;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::io::{Read, Seek};
                let mut out = Vec::new();
                let _ = out_read.seek(std::io::SeekFrom::Start(0));
                let _ = out_read.read_to_end(&mut out);
                if status.success() {
                    return Ok(out);
                }
                let mut err = String::new();
                let _ = err_read.seek(std::io::SeekFrom::Start(0));
                let _ = err_read.read_to_string(&mut err);
                let err: String = err.lines().take(3).collect::<Vec<_>>().join("; ");
                return Err(RunError::Failed(format!("{status}: {err}")));
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Timeout);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(RunError::Failed(e.to_string())),
        }
    }
}

/// A configuration error unless `program` can be started (`program -v`).
pub fn require(step: &str, program: &str) -> trove_core::Result<()> {
    let found = Command::new(program).arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status();
    match found {
        Ok(_) => Ok(()),
        Err(_) => Err(trove_core::Error::config(format!(
            "{step} needs `{program}` (Debian/Ubuntu: apt-get install poppler-utils)"
        ))),
    }
}

//! Lambda's CPU shares, by cgroup v1's `cpu` controller: Lambda gives a
//! function CPU in proportion to its memory, one vCPU at 1,769 MB, so a
//! function of `memory` MB runs here with a CFS quota of `memory / 1769` of
//! one core. Needs root and a writable `/sys/fs/cgroup/cpu`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use crate::BoxError;

/// The memory (MB) at which Lambda gives one full vCPU.
pub const ONE_VCPU_MB: u32 = 1769;

/// The CFS period. The quota a share allows is spent in slices of this
/// length: short enough that a few milliseconds of work meet the quota as
/// they would a steady share, long enough that 128 MB's quota (7.2 %,
/// 1.45 ms) stays above the kernel's 1 ms minimum.
pub const PERIOD_US: u64 = 20_000;

/// A cgroup whose CPU quota is a Lambda function's at `memory_mb`.
pub struct CpuShare {
    pub memory_mb: u32,
    dir: PathBuf,
    /// `cgroup.procs`, opened for the children to join with.
    procs: File,
}

impl CpuShare {
    pub fn of_memory(memory_mb: u32) -> Result<Self, BoxError> {
        let root = PathBuf::from("/sys/fs/cgroup/cpu");
        if !root.join("cpu.cfs_quota_us").exists() {
            return Err("the TLS mode needs cgroup v1's cpu controller at /sys/fs/cgroup/cpu".into());
        }
        let dir = root.join(format!("user-auth-bench-{}-{memory_mb}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot make the cgroup {} (the TLS mode runs as root): {err}", dir.display()))?;
        let quota_us = (PERIOD_US * u64::from(memory_mb) / u64::from(ONE_VCPU_MB)).max(1000);
        std::fs::write(dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
        std::fs::write(dir.join("cpu.cfs_quota_us"), quota_us.to_string())?;
        let procs = std::fs::OpenOptions::new().write(true).open(dir.join("cgroup.procs"))?;
        Ok(CpuShare { memory_mb, dir, procs })
    }

    /// The share of one vCPU.
    pub fn vcpu(&self) -> f64 {
        (f64::from(self.memory_mb) / f64::from(ONE_VCPU_MB)).min(1.0)
    }

    /// Makes `command`'s process join this cgroup before it runs anything of
    /// its own, so its init is measured at the share too. The command must be
    /// spawned while `self` lives: it writes to `self`'s open file.
    pub fn confine(&self, command: &mut tokio::process::Command) {
        let procs = self.procs.as_raw_fd();
        // SAFETY: between fork and exec, only write(2) on a descriptor opened
        // before the fork: async-signal-safe, no allocation. "0" is the
        // writing process itself.
        unsafe {
            command.pre_exec(move || {
                if libc::write(procs, b"0".as_ptr().cast(), 1) == 1 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        // Empty once its processes are gone.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

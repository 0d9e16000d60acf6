#!/usr/bin/python3
"""A FUSE filesystem that can stall one process, as a hung NFS mount would.

Usage: stall-fs.py BACKING MOUNTPOINT CONTROL

MOUNTPOINT shows BACKING (every operation passed through).  While the file
CONTROL exists and holds a pid, every write() by that process waits inside
the kernel, in its FUSE request, until CONTROL is removed: the process is
stuck in a kernel call on the mount, like a launcher writing its status to
a state_dir on a hung NFS server.  Everyone else (the test's role sampler
reading the status file, the cache's save child) goes on, and so does the
stalled process once CONTROL is gone.

Needs python3-fusepy (libfuse2) and root.  Runs in the foreground.
"""
import errno
import os
import sys
import time

from fusepy import FUSE, FuseOSError, Operations, fuse_get_context


class Stall(Operations):
    def __init__(self, root, control):
        self.root = root
        self.control = control

    def _p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _stalled(self):
        try:
            with open(self.control) as f:
                return int(f.read().strip() or 0) == fuse_get_context()[2]
        except (OSError, ValueError):
            return False

    def _wait(self):
        # the caller waits in its request meanwhile (bounded: an hour)
        for _ in range(360000):
            if not self._stalled():
                return
            time.sleep(0.01)

    def __call__(self, op, *args):
        try:
            return super().__call__(op, *args)
        except OSError as e:
            raise FuseOSError(e.errno or errno.EIO)

    def access(self, path, mode):
        if not os.access(self._p(path), mode):
            raise FuseOSError(errno.EACCES)

    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        return {k: getattr(st, k) for k in ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime",
                                             "st_nlink", "st_size", "st_uid")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._p(path))

    def readlink(self, path):
        return os.readlink(self._p(path))

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def unlink(self, path):
        os.unlink(self._p(path))

    def symlink(self, name, target):
        os.symlink(target, self._p(name))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def link(self, target, name):
        os.link(self._p(name), self._p(target))

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._p(path), times)

    def statfs(self, path):
        st = os.statvfs(self._p(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                                             "f_files", "f_flag", "f_frsize", "f_namemax")}

    def open(self, path, flags):
        return os.open(self._p(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self._p(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, length, offset, fh):
        return os.pread(fh, length, offset)

    def write(self, path, buf, offset, fh):
        self._wait()
        return os.pwrite(fh, buf, offset)

    def truncate(self, path, length, fh=None):
        with open(self._p(path), "r+") as f:
            f.truncate(length)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)

    def fsync(self, path, datasync, fh):
        os.fsync(fh)


if __name__ == "__main__":
    FUSE(Stall(os.path.realpath(sys.argv[1]), sys.argv[3]), sys.argv[2], foreground=True, nothreads=False,
         allow_other=True)

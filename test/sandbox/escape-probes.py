# Runs inside a sandbox (both drivers): every escape attempt of the sandbox review, performed.
# Prints one JSON line per attempt: {"name", "held", "detail"}; escape.test.ts asserts on them
# and checks the host side (kernel.core_pattern, setuid files, file owners). Nothing here may
# change the host if an attempt succeeds: knobs opened for writing get their own current value
# back (or nothing), except core_pattern, whose write is real and which the test restores.
# Raw syscall numbers are x86_64's (CI's architecture).
import ctypes, errno, json, os, shutil, stat, struct, sys

# usage: escape-probes.py ROOT_ONLY_FILE READ_ONLY_DIR (run in the workdir)
WORKDIR = os.getcwd()
ROOT_ONLY = sys.argv[1] if len(sys.argv) > 1 else ""
READ_ONLY_DIR = sys.argv[2] if len(sys.argv) > 2 else ""
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def report(name, held, detail=""):
    print(json.dumps({"name": name, "held": bool(held), "detail": str(detail)[:300]}), flush=True)


def must_fail(name, fn):
    """The attempt holds when it raises; a success is an escape."""
    try:
        result = fn()
    except OSError as e:
        report(name, True, f"{errno.errorcode.get(e.errno, e.errno)}: {e.strerror}")
        return
    report(name, False, f"succeeded: {result!r}")


def syscall_errno(nr, *args):
    ctypes.set_errno(0)
    ret = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return ret, ctypes.get_errno()


# --- who am I -------------------------------------------------------------------------------
uid_map = open("/proc/self/uid_map").read().split()
report("uid_not_root", os.getuid() != 0 and uid_map[:3] != ["0", "0", "1"], f"uid {os.getuid()}, uid_map {' '.join(uid_map)}")
for pid in ("self", "1"):
    try:
        caps = [l for l in open(f"/proc/{pid}/status") if l.startswith("CapEff")][0].split()[1]
        report(f"no_capabilities_{pid}", int(caps, 16) == 0, f"CapEff {caps}")
    except OSError as e:
        report(f"no_capabilities_{pid}", True, e)

# --- descriptors inherited from whoever started sluice run (the test passes a pipe at fd 40) --
leaked = []
for entry in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{entry}")
    except OSError:
        continue  # the listing's own descriptor
    if int(entry) > 2 and target != "/dev/null":
        leaked.append(f"{entry} -> {target}")
report("no_inherited_descriptors", not leaked, "; ".join(leaked) or "none beyond stdio")

# --- the critical one: the host's core_pattern --------------------------------------------------
def write_core_pattern():
    with open("/proc/sys/kernel/core_pattern", "w") as f:
        f.write("|/bin/false sluice-escape-test")
must_fail("write_core_pattern", write_core_pattern)

# --- other host-global knobs: opened for writing; if that works, their own value goes back -------
KNOBS = [
    "/proc/sys/kernel/modprobe", "/proc/sys/kernel/panic", "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches",
    "/proc/sys/vm/overcommit_memory", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/fs/binfmt_misc/register",
    "/proc/sys/kernel/sysrq", "/proc/sysrq-trigger", "/proc/irq/default_smp_affinity", "/sys/kernel/uevent_helper",
    "/sys/kernel/mm/transparent_hugepage/enabled", "/sys/power/state", "/sys/fs/cgroup/pids/release_agent",
    "/sys/fs/cgroup/memory/release_agent", "/sys/fs/cgroup/release_agent", "/sys/fs/cgroup/cgroup.procs",
]
for knob in KNOBS:
    def open_for_write(knob=knob):
        fd = os.open(knob, os.O_WRONLY)
        try:
            current = open(knob).read() if knob.startswith("/proc/sys/") and not knob.endswith("register") else None
            if current is not None and "drop_caches" not in knob:
                os.write(fd, current.encode())
                return f"opened and rewrote {current.strip()!r}"
            return "opened for writing (nothing written)"
        finally:
            os.close(fd)
    must_fail(f"write:{knob}", open_for_write)

# --- masked and root-only files ----------------------------------------------------------------
for secret in ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/kmsg", "/etc/shadow", "/etc/gshadow", ROOT_ONLY]:
    if not secret:
        continue
    try:
        with open(secret, "rb") as f:
            data = f.read(64)
        report(f"read:{secret}", len(data) == 0, f"read {len(data)} bytes")
    except OSError as e:
        report(f"read:{secret}", True, f"{errno.errorcode.get(e.errno, e.errno)}")

if READ_ONLY_DIR:
    must_fail("write_read_only_policy_path", lambda: open(os.path.join(READ_ONLY_DIR, "planted"), "w").write("x"))

# --- setuid files the host would see ----------------------------------------------------------
py = os.path.join(WORKDIR, "py-copy")
shutil.copy(sys.executable, py)
report("workdir_writable", True, f"created {py} as uid {os.getuid()}")
must_fail("chmod_4755", lambda: os.chmod(py, 0o4755))
must_fail("chmod_2755", lambda: os.chmod(py, 0o2755))
must_fail("chmod_u+s_symbolic_equivalent", lambda: os.chmod(py, stat.S_ISUID | 0o755))
def fchmod_setuid():
    fd = os.open(py, os.O_RDONLY)
    try:
        os.fchmod(fd, 0o4755)
    finally:
        os.close(fd)
must_fail("fchmod_4755", fchmod_setuid)
must_fail("open_create_4755", lambda: os.close(os.open(os.path.join(WORKDIR, "created-setuid"), os.O_CREAT | os.O_WRONLY, 0o4755)))
must_fail("openat_create_2755", lambda: os.close(os.open("created-setgid", os.O_CREAT | os.O_WRONLY, 0o2755, dir_fd=os.open(WORKDIR, os.O_RDONLY))))
must_fail("mknod_regular_4755", lambda: os.mknod(os.path.join(WORKDIR, "mknod-setuid"), stat.S_IFREG | 0o4755))
def fchmodat2_setuid():
    path = ctypes.create_string_buffer(py.encode())  # kept referenced while the call reads it
    ret, err = syscall_errno(452, -100, ctypes.addressof(path), 0o4755, 0)
    if ret != 0:
        raise OSError(err, os.strerror(err))
must_fail("fchmodat2_4755", fchmodat2_setuid)
def openat2_setuid():
    how = ctypes.create_string_buffer(struct.pack("QQQ", os.O_CREAT | os.O_WRONLY, 0o4755, 0), 24)
    path = ctypes.create_string_buffer(os.path.join(WORKDIR, "openat2-setuid").encode())
    ret, err = syscall_errno(437, -100, ctypes.addressof(path), ctypes.addressof(how), 24)
    if ret < 0:
        raise OSError(err, os.strerror(err))
    os.close(ret)
    mode = os.stat(os.path.join(WORKDIR, "openat2-setuid")).st_mode
    if mode & 0o6000 == 0:
        raise OSError(0, "created without the setuid bit")
must_fail("openat2_create_4755", openat2_setuid)

# the link is allowed; sluice run must report it at exit
os.symlink("/etc/shadow", os.path.join(WORKDIR, "shadow-link"))
mount = [l.split() for l in open("/proc/self/mountinfo") if l.split()[4] == WORKDIR]
opts = mount[-1][5].split(",") if mount else []
report("workdir_nosuid_nodev", "nosuid" in opts and "nodev" in opts, ",".join(opts))

# --- kernel surface and the sandbox's init -----------------------------------------------------
def io_uring():
    params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
    ret, err = syscall_errno(425, 8, ctypes.addressof(params))
    if ret < 0:
        raise OSError(err, os.strerror(err))
    os.close(ret)
must_fail("io_uring_setup", io_uring)
def unshare_user():
    if libc.unshare(0x10000000) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
must_fail("unshare_user_namespace", unshare_user)
def clone3():
    args = ctypes.create_string_buffer(88)
    ret, err = syscall_errno(435, ctypes.addressof(args), 88)
    if ret < 0:
        raise OSError(err, os.strerror(err))
    if ret == 0:
        os._exit(0)
    try:
        os.waitpid(ret, 0x40000000)  # __WALL: the child has no exit signal
    except OSError:
        pass
    return f"created process {ret}"
must_fail("clone3", clone3)
for pid in (1, 0x100000001):
    def attach(pid=pid):
        ret, err = syscall_errno(101, 16, pid, 0, 0)  # PTRACE_ATTACH
        if ret != 0:
            raise OSError(err, os.strerror(err))
        syscall_errno(101, 17, pid, 0, 0)  # PTRACE_DETACH
    must_fail(f"ptrace_attach_init_{pid:#x}", attach)
def vm_write_init():
    # remote address 0: if the call is let through it fails with EFAULT and writes nothing
    buf = ctypes.create_string_buffer(8)
    local = ctypes.create_string_buffer(struct.pack("QQ", ctypes.addressof(buf), 8))
    remote = ctypes.create_string_buffer(struct.pack("QQ", 0, 8))
    ret, err = syscall_errno(311, 1, ctypes.addressof(local), 1, ctypes.addressof(remote), 1, 0)
    if err == errno.EPERM:
        raise OSError(err, os.strerror(err))
    return f"not refused (ret {ret}, {errno.errorcode.get(err, err)})"
must_fail("process_vm_writev_init", vm_write_init)
def tiocsti():
    # stdin is a pipe here: the kernel alone would answer ENOTTY; only the filter answers EPERM
    ch = ctypes.c_char(b"x")
    if libc.ioctl(0, 0x5412, ctypes.byref(ch)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
must_fail("ioctl_tiocsti", tiocsti)
def keyctl_user_keyring():
    # KEYCTL_GET_KEYRING_ID of the user keyring (-4): the host user's keys when run through sudo
    ret, err = syscall_errno(250, 0, -4, 0)
    if ret < 0:
        raise OSError(err, os.strerror(err))
    return f"user keyring {ret}"
must_fail("keyctl_user_keyring", keyctl_user_keyring)
def userfaultfd():
    ret, err = syscall_errno(323, 0)
    if ret < 0:
        raise OSError(err, os.strerror(err))
    os.close(ret)
must_fail("userfaultfd", userfaultfd)
def mount_proc():
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
must_fail("mount", mount_proc)
print("PROBES-DONE", flush=True)

/*
 * guest-init.c: PID 1 of the memory benchmark's QEMU guest (bench/memory.sh). Static, the
 * initramfs's /init: it makes a root that sandboxes can pivot away from, mounts what slated and
 * earlyoom need (proc, sys, devtmpfs, cgroup2, tmpfs), runs each command line of /bench/runs in
 * turn with its output on the serial console, and powers the machine off.
 *
 * Lines the host reads, on the console: "guest: ..." from here, and what the runs print
 * (bench/memory/run.c: "result ...", "app ...", "log ...").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("guest: ");
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* Whatever went wrong, the machine stops: the host sees the line and no result. */
static void halt(void) {
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

static void must(int r, const char *what) {
    if (r < 0) {
        say("failed: %s: %s", what, strerror(errno));
        halt();
    }
}

static void mount_at(const char *src, const char *dir, const char *type, unsigned long flags, const char *data) {
    mkdir(dir, 0755);
    must(mount(src, dir, type, flags, data), dir);
}

/*
 * The initramfs is the kernel's rootfs, which pivot_root(2) cannot leave (it has no parent
 * mount), and every app sandbox pivots. A bind mount of it, moved over /, is an ordinary mount
 * with a parent: the same files, and a root that sandboxes can pivot from (as switch_root does
 * with a real root file system).
 */
static void make_root(void) {
    mkdir("/.root", 0755);
    must(mount("/", "/.root", NULL, MS_BIND, NULL), "bind / on /.root");
    must(chdir("/.root"), "chdir /.root");
    must(mount(".", "/", NULL, MS_MOVE, NULL), "move /.root to /");
    must(chroot("."), "chroot");
    must(chdir("/"), "chdir /");
}

/* One command line: words split at blanks (the host writes no quoting). */
static void run(char *line, int n) {
    char *argv[128];
    int argc = 0;
    for (char *save = NULL, *w = strtok_r(line, " \t\n", &save); w && argc < 127; w = strtok_r(NULL, " \t\n", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    if (!argc)
        return;
    say("run %d: %s", n, argv[0]);
    pid_t pid = fork();
    must(pid, "fork");
    if (pid == 0) {
        execv(argv[0], argv);
        say("failed: %s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    /* PID 1 reaps every orphan too, until its own child ends. */
    for (;;) {
        int status;
        pid_t got = wait(&status);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || got == pid) {
            if (got == pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                say("run %d failed: %s %d", n, WIFEXITED(status) ? "exit status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            return;
        }
    }
}

int main(void) {
    if (getpid() != 1) {
        fprintf(stderr, "guest-init: the QEMU guest's init, not a command\n");
        return 2;
    }
    make_root();
    mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_at("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    mount_at("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_at("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_at("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    /* Started without /dev/console in the archive, the kernel gave us no 0, 1 and 2. */
    if (fcntl(1, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
    }
    setenv("PATH", "/usr/bin:/bin:/usr/sbin:/sbin", 1);
    setenv("HOME", "/", 1);

    struct utsname u;
    char buf[256] = "";
    uname(&u);
    FILE *f = fopen("/proc/meminfo", "re");
    if (f && fgets(buf, sizeof buf, f))
        buf[strcspn(buf, "\n")] = '\0';
    if (f)
        fclose(f);
    say("up: Linux %s, %s", u.release, buf);
    f = fopen("/sys/fs/cgroup/cgroup.controllers", "re");
    buf[0] = '\0';
    if (f && fgets(buf, sizeof buf, f))
        buf[strcspn(buf, "\n")] = '\0';
    if (f)
        fclose(f);
    say("cgroup2 controllers: %s", buf);
    /* What decides how reclaim and page faults behave, for the record. */
    static const char *const knobs[] = {"/sys/kernel/mm/lru_gen/enabled", "/sys/kernel/mm/transparent_hugepage/enabled",
                                        "/sys/kernel/mm/transparent_hugepage/defrag", "/proc/sys/vm/min_free_kbytes"};
    for (size_t i = 0; i < sizeof knobs / sizeof *knobs; i++) {
        f = fopen(knobs[i], "re");
        buf[0] = '\0';
        if (f && fgets(buf, sizeof buf, f))
            buf[strcspn(buf, "\n")] = '\0';
        if (f)
            fclose(f);
        say("%s: %s", knobs[i], f ? buf : "(none)");
    }

    f = fopen("/bench/runs", "re");
    if (!f) {
        say("failed: /bench/runs: %s", strerror(errno));
        halt();
    }
    char line[4096];
    for (int n = 1; fgets(line, sizeof line, f); n++)
        run(line, n);
    fclose(f);
    say("done");
    halt();
}

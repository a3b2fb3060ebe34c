/*
 * guest-init.c: PID 1 of the display test's QEMU guest (tests/display/guest.sh). Static, the initramfs's
 * /init: it makes a root sandboxes can pivot from, mounts what slated needs, loads the modules listed in
 * /guest/modules (in order: QEMU's bochs display, evdev, uinput) with finit_module, runs /guest/run
 * (one command line, words split at blanks) with the environment of /guest/env, says
 * "guest: exit N", and powers the machine off.
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
#include <sys/syscall.h>
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

static _Noreturn void halt(void) {
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

/* The initramfs cannot be pivoted from (it has no parent mount): a bind of it moved over / can. */
static void make_root(void) {
    mkdir("/.root", 0755);
    must(mount("/", "/.root", NULL, MS_BIND, NULL), "bind / on /.root");
    must(chdir("/.root"), "chdir /.root");
    must(mount(".", "/", NULL, MS_MOVE, NULL), "move /.root to /");
    must(chroot("."), "chroot");
    must(chdir("/"), "chdir /");
}

static void load_modules(void) {
    FILE *f = fopen("/guest/modules", "re");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0])
            continue;
        int fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0)
            say("module %s: %s", line, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    if (f)
        fclose(f);
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
    /* /tmp stays the initramfs's own (RAM already): a tmpfs there would hide a build under /tmp. */
    mount_at("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    if (fcntl(1, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
    }
    load_modules();

    char line[8192], *argv[64];
    int argc = 0;
    FILE *f = fopen("/guest/env", "re");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            setenv(line, eq + 1, 1);
        }
    }
    if (f)
        fclose(f);
    f = fopen("/guest/run", "re");
    if (!f || !fgets(line, sizeof line, f)) {
        say("failed: /guest/run: %s", strerror(errno));
        halt();
    }
    fclose(f);
    for (char *save = NULL, *w = strtok_r(line, " \t\n", &save); w && argc < 63; w = strtok_r(NULL, " \t\n", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    say("up; running %s", argv[0]);
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
            say("exit %d", got == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 128);
            halt();
        }
    }
}

/* probe.c: an SDK app that reports, one key=value line each, what its sandbox lets it reach. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <slate/slate.h>

/*
 * Usage: probe NAME   writes /data/NAME and reports everything below
 *        probe --exit returns at once (the launch benchmark)
 * The probe is the sandbox's pid 1: the launcher runs no init in front of it.
 */

static void exists(const char *key, const char *path) {
    printf("%s=%s\n", key, access(path, F_OK) == 0 ? "present" : "absent");
}

static void try_write(const char *key, const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        printf("%s=refused:%d\n", key, errno);
        return;
    }
    int ok = write(fd, "probe\n", 6) == 6;
    close(fd);
    printf("%s=%s\n", key, ok ? "ok" : "short");
}

/* Hostile calls kill the process, so each is tried in a child of its own. */
static void try_call(const char *key, int which) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("%s=fork-failed:%d\n", key, errno);
        return;
    }
    if (pid == 0) {
        long r = -1;
        switch (which) {
        case 0: r = ptrace(PTRACE_TRACEME, 0, NULL, NULL); break;
        case 1: r = mount("none", "/tmp", "tmpfs", 0, NULL); break;
        case 2: r = unshare(CLONE_NEWUSER); break;
        case 3: r = sethostname("x", 1); break;
        }
        _exit(r == 0 ? 0 : errno);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        printf("%s=%s\n", key, WTERMSIG(status) == SIGSYS ? "killed" : "signal");
    else if (WEXITSTATUS(status) == 0)
        printf("%s=allowed\n", key);
    else
        printf("%s=errno:%d\n", key, WEXITSTATUS(status));
}

static void print_file_line(const char *key, const char *path) {
    char line[256] = "";
    FILE *f = fopen(path, "re");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    printf("%s=%s\n", key, line);
}

static void list_dir(const char *key, const char *path, int digits_only) {
    DIR *d = opendir(path);
    printf("%s=", key);
    int count = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        if (digits_only) {
            count += strspn(de->d_name, "0123456789") == strlen(de->d_name);
            continue;
        }
        printf("%s ", de->d_name);
    }
    if (digits_only)
        printf("%d", count);
    printf("\n");
    if (d)
        closedir(d);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--exit") == 0)
        return 0;
    const char *name = argc > 1 ? argv[1] : "probe";

    printf("libslate=%s\n", slate_log_enabled(SLATE_LOG_ERROR) ? "loaded" : "quiet");
    exists("passwd", "/etc/passwd");
    exists("home", "/home");
    exists("root", "/root");
    printf("pid=%d\n", (int)getpid());
    list_dir("processes", "/proc", 1);
    char ns[64] = "";
    ssize_t n = readlink("/proc/self/ns/net", ns, sizeof ns - 1);
    printf("netns=%s\n", n > 0 ? ns : "unknown");
    int interfaces = 0;
    struct if_nameindex *ifs = if_nameindex();
    for (struct if_nameindex *i = ifs; i && i->if_index; i++)
        interfaces++;
    if (ifs)
        if_freenameindex(ifs);
    printf("interfaces=%d\n", ifs ? interfaces : -1);
    try_write("write_root", "/probe");
    try_write("write_app", "/app/probe");
    char data_path[256];
    snprintf(data_path, sizeof data_path, "/data/%s", name);
    try_write("write_data", data_path);
    list_dir("data", "/data", 0);
    char cwd[256] = "";
    printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "unknown");
    printf("uid=%d\n", (int)getuid());
    printf("gid=%d\n", (int)getgid());
    printf("groups=%d\n", getgroups(0, NULL));
    print_file_line("uid_map", "/proc/self/uid_map");
    FILE *status = fopen("/proc/self/status", "re");
    for (char line[256]; status && fgets(line, sizeof line, status);)
        if (strncmp(line, "CapEff:", 7) == 0)
            printf("caps=%s", line + 7 + strspn(line + 7, "\t "));
    if (status)
        fclose(status);
    /* Host paths the test wants checked (other apps' data, the device database): one per line in /data/paths. */
    FILE *paths = fopen("/data/paths", "re");
    for (char line[512]; paths && fgets(line, sizeof line, paths);) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0])
            printf("host:%s=%s\n", line, access(line, F_OK) == 0 ? "present" : "absent");
    }
    if (paths)
        fclose(paths);
    try_call("ptrace", 0);
    try_call("mount", 1);
    try_call("unshare", 2);
    try_call("sethostname", 3);
    char host[65] = "";
    gethostname(host, sizeof host - 1);
    printf("hostname=%s\n", host);
    return 0;
}

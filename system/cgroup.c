/* cgroup.c: placeholder, being written. */

/* sandbox-helper.c: slate-sandbox, the program a sandbox runs until it execs its app (sandbox-proto.h). */
#include "sandbox-proto.h"

int main(void) {
    sandbox_child_main(SANDBOX_FD_SOCKET);
}

/* fuzz-index.c: libFuzzer target for repository indexes: the body parser, and the whole signed file. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "fuzz.h"
#include "index.h"
#include "keys.h"
#include "util.h"

/* A device trust store holding one key, made once: the harness signs what it feeds, to get past the signature. */
static struct secret_key key;
static int rootfd = -1;

static void init(void) {
    char dir[] = "/tmp/slate-fuzz-index.XXXXXX";
    if (keys_init(NULL) < 0 || !mkdtemp(dir))
        abort();
    uint8_t seed[crypto_sign_SEEDBYTES] = {1, 2, 3};
    sym_crypto_sign_seed_keypair(key.pub.pk, key.sk, seed);
    uint8_t h[crypto_generichash_BYTES];
    sym_crypto_generichash(h, sizeof h, key.pub.pk, sizeof key.pub.pk, NULL, 0);
    hex_encode(h, KEY_ID_BYTES, key.pub.id);
    snprintf(key.pub.name, sizeof key.pub.name, "fuzz");
    rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0 || trust_add(rootfd, &key.pub, true, NULL) < 0)
        abort();
}

static void check(struct repo_index *x) {
    /* What parses formats back to the same entries. */
    size_t len;
    char *text = index_format_body(x, &len);
    struct repo_index *again = NULL;
    if (!text || index_parse_body(text, len, &again, NULL) < 0 || again->n_entries != x->n_entries)
        abort();
    if (x->n_entries && !index_newest(x, x->entries[0].id, NULL, NULL))
        abort();
    index_free(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct repo_index *x = NULL;
    struct err e = {0};
    if (rootfd < 0)
        init();

    /* The body as text. */
    int r = index_parse_body((const char *)data, size, &x, &e);
    fuzz_trace("index body", r, &e);
    if (r == 0)
        check(x);
    x = index_free(x);

    /* The input as a whole index file, as a server would send it. */
    r = index_open((const char *)data, size, rootfd, &x, &e);
    fuzz_trace("index file", r, &e);
    x = index_free(x);

    /* The input as a body, sealed and signed here: through decompression and parsing. */
    char *sealed = NULL;
    size_t sealed_len;
    if (size <= 65536 && index_seal((const char *)data, size, &key, &sealed, &sealed_len, &e) == 0) {
        r = index_open(sealed, sealed_len, rootfd, &x, &e);
        fuzz_trace("index sealed", r, &e);
        if (r == 0)
            check(x);
        index_free(x);
        free(sealed);
    }
    return 0;
}

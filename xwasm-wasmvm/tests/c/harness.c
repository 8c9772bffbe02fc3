/*
 * A C program that drives the drop-in libwasmvm as wasmd's Go code does
 * through cgo: the types and prototypes below are written from the
 * interface's description (../shared/WASMVM.md), not from the library's
 * Rust code, and linked against the built libwasmvm.so.
 *
 * It keeps the contract's storage in a sorted array (with iterators in
 * both orders), answers address calls with a toy scheme ("addr_" + the
 * canonical bytes) and queries with a fixed bank balance, and counts the
 * gas its callbacks report. It checks the C-level conventions itself
 * (errno, error texts, vectors freed once, the gas report) and prints one
 * line per contract call for the Rust test to check the results:
 *
 *   CALL <name> <errno> <limit> <remaining> <used_externally>
 *        <used_internally> <gas its callbacks reported> <result or error>
 *
 * Usage: harness BASE_DIR HACKATOM.wasm SCANNER.wasm
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { bool is_nil; const uint8_t *ptr; uintptr_t len; } ByteSliceView;
typedef struct { bool is_none; const uint8_t *ptr; uintptr_t len; } U8SliceView;
typedef struct { bool is_none; uint8_t *ptr; uintptr_t len; uintptr_t cap; } UnmanagedVector;
typedef struct { uint64_t limit, remaining, used_externally, used_internally; } GasReport;
typedef struct {
    uint32_t hits_pinned_memory_cache, hits_memory_cache, hits_fs_cache, misses;
    uint64_t elements_pinned_memory_cache, elements_memory_cache, size_pinned_memory_cache,
        size_memory_cache;
} Metrics;

typedef struct cache_t cache_t;
typedef struct gas_meter_t gas_meter_t;
typedef struct db_t db_t;
typedef struct api_t api_t;
typedef struct querier_t querier_t;

typedef struct { uint64_t call_id, iterator_id; } IteratorReference;
typedef struct {
    int32_t (*next)(IteratorReference, gas_meter_t *, uint64_t *, UnmanagedVector *, UnmanagedVector *,
                    UnmanagedVector *);
    int32_t (*next_key)(IteratorReference, gas_meter_t *, uint64_t *, UnmanagedVector *, UnmanagedVector *);
    int32_t (*next_value)(IteratorReference, gas_meter_t *, uint64_t *, UnmanagedVector *, UnmanagedVector *);
} IteratorVtable;
typedef struct { gas_meter_t *gas_meter; IteratorReference reference; IteratorVtable vtable; } GoIter;
typedef struct {
    int32_t (*read_db)(db_t *, gas_meter_t *, uint64_t *, U8SliceView, UnmanagedVector *, UnmanagedVector *);
    int32_t (*write_db)(db_t *, gas_meter_t *, uint64_t *, U8SliceView, U8SliceView, UnmanagedVector *);
    int32_t (*remove_db)(db_t *, gas_meter_t *, uint64_t *, U8SliceView, UnmanagedVector *);
    int32_t (*scan_db)(db_t *, gas_meter_t *, uint64_t *, U8SliceView, U8SliceView, int32_t, GoIter *,
                       UnmanagedVector *);
} DbVtable;
typedef struct { gas_meter_t *gas_meter; db_t *state; DbVtable vtable; } Db;
typedef struct {
    int32_t (*humanize_address)(const api_t *, U8SliceView, UnmanagedVector *, UnmanagedVector *, uint64_t *);
    int32_t (*canonicalize_address)(const api_t *, U8SliceView, UnmanagedVector *, UnmanagedVector *,
                                    uint64_t *);
    int32_t (*validate_address)(const api_t *, U8SliceView, UnmanagedVector *, uint64_t *);
} GoApiVtable;
typedef struct { const api_t *state; GoApiVtable vtable; } GoApi;
typedef struct {
    int32_t (*query_external)(const querier_t *, uint64_t, uint64_t *, U8SliceView, UnmanagedVector *,
                              UnmanagedVector *);
} QuerierVtable;
typedef struct { const querier_t *state; QuerierVtable vtable; } GoQuerier;

extern cache_t *init_cache(ByteSliceView config, UnmanagedVector *error_msg);
extern UnmanagedVector store_code(cache_t *, ByteSliceView wasm, bool checked, bool persist,
                                  UnmanagedVector *error_msg);
extern Metrics get_metrics(cache_t *, UnmanagedVector *error_msg);
extern void release_cache(cache_t *);
extern UnmanagedVector instantiate(cache_t *, ByteSliceView checksum, ByteSliceView env, ByteSliceView info,
                                   ByteSliceView msg, Db, GoApi, GoQuerier, uint64_t gas_limit,
                                   bool print_debug, GasReport *, UnmanagedVector *error_msg);
extern UnmanagedVector execute(cache_t *, ByteSliceView checksum, ByteSliceView env, ByteSliceView info,
                               ByteSliceView msg, Db, GoApi, GoQuerier, uint64_t gas_limit, bool print_debug,
                               GasReport *, UnmanagedVector *error_msg);
extern UnmanagedVector query(cache_t *, ByteSliceView checksum, ByteSliceView env, ByteSliceView msg, Db, GoApi,
                             GoQuerier, uint64_t gas_limit, bool print_debug, GasReport *,
                             UnmanagedVector *error_msg);
extern UnmanagedVector new_unmanaged_vector(bool nil, const uint8_t *ptr, uintptr_t length);
extern void destroy_unmanaged_vector(UnmanagedVector v);
extern const char *version_str(void);

enum { GO_NONE = 0, GO_BAD_ARGUMENT = 2, GO_USER = 5 };
enum { READ_GAS = 100, WRITE_GAS = 200, SCAN_GAS = 300, NEXT_GAS = 30, QUERY_GAS = 7, API_COST = 5 };

static void fail(const char *what) {
    printf("FAIL %s\n", what);
    exit(1);
}

static ByteSliceView view(const void *ptr, size_t len) {
    ByteSliceView v = {false, len ? ptr : NULL, len};
    return v;
}

static ByteSliceView text(const char *s) { return view(s, strlen(s)); }

static UnmanagedVector vector(const void *ptr, size_t len) {
    return new_unmanaged_vector(false, ptr, len);
}

/* An output vector the library handed over: none, as the interface says. */
static void expect_none(const UnmanagedVector *out) {
    if (!out->is_none) fail("an output vector handed to a callback is not none");
}

/* ---- the contract's storage: a sorted array ---- */

typedef struct { uint8_t *key; size_t key_len; uint8_t *value; size_t value_len; } Entry;
static Entry store[256];
static size_t entries;
static uint64_t charged; /* gas the callbacks reported for the current call */

static int compare(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0) return c;
    return a_len < b_len ? -1 : a_len > b_len;
}

/* Where `key` is, or where it would go. */
static size_t position(const uint8_t *key, size_t len, bool *found) {
    size_t i = 0;
    while (i < entries && compare(store[i].key, store[i].key_len, key, len) < 0) i++;
    *found = i < entries && compare(store[i].key, store[i].key_len, key, len) == 0;
    return i;
}

static void put(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len) {
    bool found;
    size_t i = position(key, key_len, &found);
    if (found) {
        free(store[i].value);
    } else {
        if (entries == sizeof store / sizeof store[0]) fail("the storage is full");
        memmove(&store[i + 1], &store[i], (entries - i) * sizeof(Entry));
        entries++;
        store[i].key = malloc(key_len + 1);
        memcpy(store[i].key, key, key_len);
        store[i].key_len = key_len;
    }
    store[i].value = malloc(value_len + 1);
    memcpy(store[i].value, value, value_len);
    store[i].value_len = value_len;
}

static const Entry *get(const char *key) {
    bool found;
    size_t i = position((const uint8_t *)key, strlen(key), &found);
    return found ? &store[i] : NULL;
}

static int32_t read_db(db_t *db, gas_meter_t *meter, uint64_t *gas_used, U8SliceView key, UnmanagedVector *value,
                       UnmanagedVector *err) {
    (void)db, (void)meter;
    expect_none(value), expect_none(err);
    *gas_used = READ_GAS, charged += READ_GAS;
    bool found;
    size_t i = position(key.ptr, key.len, &found);
    if (found) *value = vector(store[i].value, store[i].value_len);
    return GO_NONE;
}

static int32_t write_db(db_t *db, gas_meter_t *meter, uint64_t *gas_used, U8SliceView key, U8SliceView value,
                        UnmanagedVector *err) {
    (void)db, (void)meter;
    expect_none(err);
    *gas_used = WRITE_GAS, charged += WRITE_GAS;
    put(key.ptr, key.len, value.ptr, value.len);
    return GO_NONE;
}

static int32_t remove_db(db_t *db, gas_meter_t *meter, uint64_t *gas_used, U8SliceView key,
                         UnmanagedVector *err) {
    (void)db, (void)meter;
    expect_none(err);
    *gas_used = WRITE_GAS, charged += WRITE_GAS;
    bool found;
    size_t i = position(key.ptr, key.len, &found);
    if (found) {
        free(store[i].key), free(store[i].value);
        memmove(&store[i], &store[i + 1], (entries - i - 1) * sizeof(Entry));
        entries--;
    }
    return GO_NONE;
}

/* ---- iterators: the entries in range, taken when the scan starts ---- */

typedef struct { size_t indices[256]; size_t count, at; bool used; } Iterator;
static Iterator iterators[64];

static int32_t next_entry(IteratorReference ref, uint64_t *gas_used, UnmanagedVector *key,
                          UnmanagedVector *value, UnmanagedVector *err) {
    expect_none(err);
    if (key) expect_none(key);
    if (value) expect_none(value);
    *gas_used = NEXT_GAS, charged += NEXT_GAS;
    if (ref.iterator_id >= 64 || !iterators[ref.iterator_id].used) {
        *err = vector("unknown iterator", 16);
        return GO_USER;
    }
    Iterator *it = &iterators[ref.iterator_id];
    if (it->at == it->count) return GO_NONE; /* ended: the outputs stay none */
    const Entry *e = &store[it->indices[it->at++]];
    if (key) *key = vector(e->key, e->key_len);
    if (value) *value = vector(e->value, e->value_len);
    return GO_NONE;
}

static int32_t next(IteratorReference ref, gas_meter_t *meter, uint64_t *gas_used, UnmanagedVector *key,
                    UnmanagedVector *value, UnmanagedVector *err) {
    (void)meter;
    return next_entry(ref, gas_used, key, value, err);
}

static int32_t next_key(IteratorReference ref, gas_meter_t *meter, uint64_t *gas_used, UnmanagedVector *key,
                        UnmanagedVector *err) {
    (void)meter;
    return next_entry(ref, gas_used, key, NULL, err);
}

static int32_t next_value(IteratorReference ref, gas_meter_t *meter, uint64_t *gas_used,
                          UnmanagedVector *value, UnmanagedVector *err) {
    (void)meter;
    return next_entry(ref, gas_used, NULL, value, err);
}

static int32_t scan_db(db_t *db, gas_meter_t *meter, uint64_t *gas_used, U8SliceView start, U8SliceView end,
                       int32_t order, GoIter *out, UnmanagedVector *err) {
    (void)db;
    expect_none(err);
    *gas_used = SCAN_GAS, charged += SCAN_GAS;
    if (order != 1 && order != 2) {
        *err = vector("bad order", 9);
        return GO_BAD_ARGUMENT;
    }
    if (out->reference.iterator_id != 0 || out->vtable.next != NULL) fail("scan_db got a GoIter not zeroed");
    size_t id = 0;
    while (id < 64 && iterators[id].used) id++;
    if (id == 64) fail("too many iterators");
    Iterator *it = &iterators[id];
    it->used = true, it->count = 0, it->at = 0;
    for (size_t i = 0; i < entries; i++) {
        const Entry *e = &store[i];
        if (!start.is_none && compare(e->key, e->key_len, start.ptr, start.len) < 0) continue;
        if (!end.is_none && compare(e->key, e->key_len, end.ptr, end.len) >= 0) continue;
        it->indices[it->count++] = i;
    }
    if (order == 2) {
        for (size_t i = 0; i < it->count / 2; i++) {
            size_t t = it->indices[i];
            it->indices[i] = it->indices[it->count - 1 - i];
            it->indices[it->count - 1 - i] = t;
        }
    }
    out->gas_meter = meter;
    out->reference.call_id = 1;
    out->reference.iterator_id = id;
    out->vtable.next = next, out->vtable.next_key = next_key, out->vtable.next_value = next_value;
    return GO_NONE;
}

/* ---- addresses: "addr_" followed by the canonical bytes ---- */

static bool valid(U8SliceView human) {
    return human.len > 5 && human.len <= 64 && memcmp(human.ptr, "addr_", 5) == 0;
}

static int32_t humanize(const api_t *api, U8SliceView canonical, UnmanagedVector *human, UnmanagedVector *err,
                        uint64_t *gas_used) {
    (void)api;
    expect_none(human), expect_none(err);
    *gas_used = API_COST;
    char buffer[80] = "addr_";
    if (canonical.len == 0 || canonical.len > 59) {
        *err = vector("canonical address length", 24);
        return GO_USER;
    }
    memcpy(buffer + 5, canonical.ptr, canonical.len);
    *human = vector(buffer, 5 + canonical.len);
    return GO_NONE;
}

static int32_t canonicalize(const api_t *api, U8SliceView human, UnmanagedVector *canonical,
                            UnmanagedVector *err, uint64_t *gas_used) {
    (void)api;
    expect_none(canonical), expect_none(err);
    *gas_used = API_COST;
    if (!valid(human)) {
        *err = vector("not an addr_ address", 20);
        return GO_USER;
    }
    *canonical = vector(human.ptr + 5, human.len - 5);
    return GO_NONE;
}

static int32_t validate(const api_t *api, U8SliceView human, UnmanagedVector *err, uint64_t *gas_used) {
    (void)api;
    expect_none(err);
    *gas_used = API_COST;
    if (!valid(human)) {
        *err = vector("not an addr_ address", 20);
        return GO_USER;
    }
    return GO_NONE;
}

/* Every query: a bank balance of 1000earth. */
static int32_t query_external(const querier_t *querier, uint64_t gas_limit, uint64_t *gas_used,
                              U8SliceView request, UnmanagedVector *result, UnmanagedVector *err) {
    (void)querier, (void)gas_limit, (void)request;
    expect_none(result), expect_none(err);
    *gas_used = QUERY_GAS, charged += QUERY_GAS;
    const char *answer = "{\"ok\":{\"ok\":\"eyJhbW91bnQiOnsiZGVub20iOiJlYXJ0aCIsImFtb3VudCI6IjEwMDAifX0=\"}}";
    *result = vector(answer, strlen(answer));
    return GO_NONE;
}

/* ---- calls ---- */

static Db db(void) {
    Db d = {NULL, NULL, {read_db, write_db, remove_db, scan_db}};
    return d;
}
static GoApi api(void) {
    GoApi a = {NULL, {humanize, canonicalize, validate}};
    return a;
}
static GoQuerier querier(void) {
    GoQuerier q = {NULL, {query_external}};
    return q;
}

static const char *ENV =
    "{\"block\":{\"height\":12345,\"time\":\"1571797419879305533\",\"chain_id\":\"c-1\"},"
    "\"transaction\":{\"index\":3},\"contract\":{\"address\":\"addr_contract\"}}";

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail(path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc(*len);
    if (fread(bytes, 1, *len, f) != *len) fail("reading a file");
    fclose(f);
    return bytes;
}

/* Prints the call's line, frees what it returned; returns errno. */
static int report(const char *name, UnmanagedVector result, int error, const GasReport *gas,
                  UnmanagedVector error_msg) {
    const UnmanagedVector *shown = error ? &error_msg : &result;
    if (error && (error_msg.is_none || error_msg.len == 0)) fail("an error without a message");
    if (!error && !error_msg.is_none) fail("a message without an error");
    printf("CALL %s %d %llu %llu %llu %llu %llu ", name, error, (unsigned long long)gas->limit,
           (unsigned long long)gas->remaining, (unsigned long long)gas->used_externally,
           (unsigned long long)gas->used_internally, (unsigned long long)charged);
    fwrite(shown->ptr, 1, shown->is_none ? 0 : shown->len, stdout);
    printf("\n");
    destroy_unmanaged_vector(result);
    destroy_unmanaged_vector(error_msg);
    return error;
}

typedef enum { INSTANTIATE, EXECUTE, QUERY } Kind;

static int call(cache_t *cache, const char *name, Kind kind, UnmanagedVector checksum, const char *info,
                const char *msg, uint64_t gas_limit) {
    GasReport gas = {0, 0, 0, 0};
    UnmanagedVector error_msg = {true, NULL, 0, 0};
    ByteSliceView sum = view(checksum.ptr, checksum.len);
    charged = 0;
    errno = 0;
    UnmanagedVector result;
    switch (kind) {
    case INSTANTIATE:
        result = instantiate(cache, sum, text(ENV), text(info), text(msg), db(), api(), querier(), gas_limit,
                             false, &gas, &error_msg);
        break;
    case EXECUTE:
        result = execute(cache, sum, text(ENV), text(info), text(msg), db(), api(), querier(), gas_limit, false,
                         &gas, &error_msg);
        break;
    default:
        result = query(cache, sum, text(ENV), text(msg), db(), api(), querier(), gas_limit, false, &gas,
                       &error_msg);
    }
    int error = errno; /* read first, as cgo does */
    return report(name, result, error, &gas, error_msg);
}

int main(int argc, char **argv) {
    if (argc != 4) fail("usage: harness BASE_DIR HACKATOM.wasm SCANNER.wasm");
    const char *version = version_str();
    if (!version || !*version) fail("version_str");
    printf("VERSION %s\n", version);

    UnmanagedVector error_msg = {true, NULL, 0, 0};
    errno = 0;
    cache_t *bad = init_cache(text("{not json"), &error_msg);
    if (bad || errno != 1 || error_msg.is_none) fail("init_cache refuses bad JSON with errno 1 and a message");
    printf("INIT_ERROR %.*s\n", (int)error_msg.len, error_msg.ptr);
    destroy_unmanaged_vector(error_msg);

    char config[1024];
    snprintf(config, sizeof config,
             "{\"wasm_limits\":{},\"cache\":{\"base_dir\":\"%s\",\"available_capabilities\":"
             "[\"iterator\",\"staking\",\"stargate\",\"cosmwasm_1_1\",\"cosmwasm_1_2\",\"cosmwasm_1_3\","
             "\"cosmwasm_1_4\",\"cosmwasm_2_0\",\"cosmwasm_2_1\",\"cosmwasm_2_2\",\"cosmwasm_3_0\"],"
             "\"memory_cache_size_bytes\":104857600,\"instance_memory_limit_bytes\":33554432}}",
             argv[1]);
    error_msg = (UnmanagedVector){true, NULL, 0, 0};
    errno = 0;
    cache_t *cache = init_cache(text(config), &error_msg);
    if (!cache || errno != 0 || !error_msg.is_none) fail("init_cache");

    /* Code that is not Wasm: errno 1, the VM's error text. */
    errno = 0;
    UnmanagedVector checksum = store_code(cache, text("not wasm"), true, true, &error_msg);
    if (errno != 1 || error_msg.is_none) fail("store_code refuses bytes that are not Wasm");
    printf("STORE_ERROR %.*s\n", (int)error_msg.len, error_msg.ptr);
    destroy_unmanaged_vector(checksum);
    destroy_unmanaged_vector(error_msg);

    size_t len;
    char *wasm = read_file(argv[2], &len);
    error_msg = (UnmanagedVector){true, NULL, 0, 0};
    errno = 0;
    UnmanagedVector hackatom = store_code(cache, view(wasm, len), true, true, &error_msg);
    if (errno != 0 || hackatom.is_none || hackatom.len != 32) fail("store_code of hackatom");
    free(wasm);

    const uint64_t gas = 500000000000ULL;
    call(cache, "instantiate", INSTANTIATE, hackatom, "{\"sender\":\"addr_creator\",\"funds\":[]}",
         "{\"verifier\":\"addr_verifier\",\"beneficiary\":\"addr_beneficiary\"}", gas);
    call(cache, "query", QUERY, hackatom, NULL, "{\"verifier\":{}}", gas);
    call(cache, "release", EXECUTE, hackatom, "{\"sender\":\"addr_verifier\",\"funds\":[]}",
         "{\"release\":{\"denom\":\"earth\"}}", gas);
    call(cache, "unauthorized", EXECUTE, hackatom, "{\"sender\":\"addr_mallory\",\"funds\":[]}",
         "{\"release\":{\"denom\":\"earth\"}}", gas);
    call(cache, "out_of_gas", EXECUTE, hackatom, "{\"sender\":\"addr_verifier\",\"funds\":[]}",
         "{\"cpu_loop\":{}}", 50000000);

    /* No gas report: an error before any instance. */
    error_msg = (UnmanagedVector){true, NULL, 0, 0};
    errno = 0;
    UnmanagedVector none = query(cache, view(hackatom.ptr, hackatom.len), text(ENV), text("{\"verifier\":{}}"),
                                 db(), api(), querier(), gas, false, NULL, &error_msg);
    if (errno != 1 || error_msg.is_none) fail("a query without a gas report is an error");
    printf("NO_GAS_REPORT %.*s\n", (int)error_msg.len, error_msg.ptr);
    destroy_unmanaged_vector(none);
    destroy_unmanaged_vector(error_msg);

    /* Iterators: the scanner counts the keys in order and takes the last
       key in reverse order, over storage the harness filled. */
    for (size_t i = 0; i < entries; i++) free(store[i].key), free(store[i].value);
    entries = 0; /* the scanner's own storage */
    const char *keys[] = {"b", "c", "a"};
    for (int i = 0; i < 3; i++) put((const uint8_t *)keys[i], 1, (const uint8_t *)"v", 1);
    wasm = read_file(argv[3], &len);
    error_msg = (UnmanagedVector){true, NULL, 0, 0};
    errno = 0;
    UnmanagedVector scanner = store_code(cache, view(wasm, len), true, true, &error_msg);
    if (errno != 0 || scanner.len != 32) fail("store_code of the scanner");
    free(wasm);
    call(cache, "scan", EXECUTE, scanner, "{\"sender\":\"addr_creator\",\"funds\":[]}", "{}", gas);
    const Entry *count = get("n"), *last = get("last");
    if (!count || count->value_len != 4 || !last) fail("the scanner wrote its findings");
    printf("SCANNED %u %.*s\n", (unsigned)count->value[0], (int)last->value_len, last->value);

    error_msg = (UnmanagedVector){true, NULL, 0, 0};
    Metrics metrics = get_metrics(cache, &error_msg);
    if (!error_msg.is_none) fail("get_metrics");
    printf("METRICS %u %u %u %u\n", metrics.hits_pinned_memory_cache, metrics.hits_memory_cache,
           metrics.hits_fs_cache, metrics.misses);

    destroy_unmanaged_vector(hackatom);
    destroy_unmanaged_vector(scanner);
    release_cache(cache);
    printf("DONE\n");
    return 0;
}

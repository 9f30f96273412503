/*
 * A pass-through PKCS#11 module for the test setup of tests/token_native_oaep.rs (the
 * fixture in tests/common/opencryptoki.rs, which uses the cryptoki crate; sdctl itself is
 * given openCryptoki's own module): it loads the module named by TARGET_MODULE and hands out
 * that module's own function list with one entry replaced, C_GetTokenInfo, which corrects
 * a single field.
 *
 * Why: PKCS#11 says CK_TOKEN_INFO.utcTime is "YYYYMMDDhhmmss00" when the token has a clock
 * (CKF_CLOCK_ON_TOKEN). openCryptoki 3.8's software token sets that flag but writes
 * "hh:mm:ss" and NULs there, and the cryptoki crate (0.12) refuses the whole answer
 * (Error::ParseInt), so a program built on it cannot even find the token (sdctl reads the
 * fields it needs itself: src/keys/token/raw_info.rs). Here the field is rewritten with the
 * current UTC time in the standard form; every other call is openCryptoki's own, unchanged.
 *
 * Built by the test: cc -shared -fPIC -DTARGET_MODULE='"/path/libopencryptoki.so"' -o lib.so
 * this.c -ldl. No PKCS#11 header is needed: the few types used are spelled out.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef unsigned long ck_ulong;
typedef ck_ulong ck_rv;

/* CK_FUNCTION_LIST (v2.40): a version, then 68 function pointers. */
struct version { unsigned char major, minor; };
struct function_list { struct version version; void *fn[68]; };

/* CK_TOKEN_INFO: the fields before utcTime. */
struct token_info {
  unsigned char label[32], manufacturer[32], model[16], serial[16];
  ck_ulong flags;
  ck_ulong counts[10];
  struct version hardware, firmware;
  unsigned char utc_time[16];
};

#define INDEX_GET_FUNCTION_LIST 3
#define INDEX_GET_TOKEN_INFO 6
#define CKF_CLOCK_ON_TOKEN 0x40UL
#define CKR_GENERAL_ERROR 5UL

typedef ck_rv (*get_function_list_fn)(struct function_list **);
typedef ck_rv (*get_token_info_fn)(ck_ulong, struct token_info *);

static struct function_list patched;
static get_token_info_fn target_get_token_info;

static int is_standard_time(const unsigned char *t) {
  for (int i = 0; i < 16; i++)
    if (!isdigit(t[i]))
      return 0;
  return 1;
}

static ck_rv corrected_get_token_info(ck_ulong slot, struct token_info *info) {
  ck_rv rv = target_get_token_info(slot, info);
  if (rv == 0 && info && (info->flags & CKF_CLOCK_ON_TOKEN) && !is_standard_time(info->utc_time)) {
    char text[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(text, sizeof text, "%Y%m%d%H%M%S00", &utc);
    memcpy(info->utc_time, text, 16);
  }
  return rv;
}

ck_rv C_GetFunctionList(struct function_list **out) {
  if (!out)
    return 7UL; /* CKR_ARGUMENTS_BAD */
  if (!target_get_token_info) {
    void *target = dlopen(TARGET_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (!target)
      return CKR_GENERAL_ERROR;
    get_function_list_fn get = (get_function_list_fn)dlsym(target, "C_GetFunctionList");
    struct function_list *theirs = NULL;
    if (!get || get(&theirs) != 0 || !theirs)
      return CKR_GENERAL_ERROR;
    memcpy(&patched, theirs, sizeof patched);
    target_get_token_info = (get_token_info_fn)theirs->fn[INDEX_GET_TOKEN_INFO];
    patched.fn[INDEX_GET_TOKEN_INFO] = (void *)corrected_get_token_info;
    patched.fn[INDEX_GET_FUNCTION_LIST] = (void *)C_GetFunctionList;
  }
  *out = &patched;
  return 0;
}

/* TEST-ONLY: runs a package's CheckAnswers custom action (msi.dll, Wine's or
 * Windows') for many values of its properties in one process, without
 * installing anything: the package is opened with MsiOpenPackageW (UI level
 * none) and only that action runs, through MsiDoActionW.
 *
 *   msicheck PACKAGE.msi RECORDS [LOGFILE]
 *
 * RECORDS holds one record per line:
 *   set PROP HEX    PROP's baseline value becomes the UTF-8 bytes HEX
 *                   (an empty HEX, "-", removes it); prints nothing
 *   try PROP HEX    PROP becomes HEX's text, INVALIDSETTINGS is cleared,
 *                   CheckAnswers runs; prints one line: `ok`, `refused
 *                   <INVALIDSETTINGS>`, `error <code>` (the action failed),
 *                   or `skip` when the bytes are not UTF-8 or hold a NUL (no
 *                   property can hold them); then PROP is restored
 *   try16 PROP HEX  as try, HEX being UTF-16 code units (4 hex digits each,
 *                   big-endian), so that unpaired surrogates can be tried
 *   check           clears INVALIDSETTINGS, runs CheckAnswers with the
 *                   properties as they are, prints a line as try does
 * Output is UTF-8; CR and LF in the refusal text are printed as \r and \n.
 * LOGFILE, when given, receives the msi.dll log (MsiEnableLog, verbose).
 * Exit code 0 when every record was understood.
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -o msicheck.exe msicheck.c -lmsi
 */
#include <windows.h>
#include <msi.h>
#include <msiquery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <io.h>

static const WCHAR INVALID[] = L"INVALIDSETTINGS";

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* HEX -> bytes; returns the count, -1 on a bad digit. */
static int unhex(const char *hex, unsigned char *out)
{
    int n = 0;
    if (!strcmp(hex, "-")) return 0;
    while (hex[0] && hex[1])
    {
        int hi = hexval(hex[0]), lo = hexval(hex[1]);
        if (hi < 0 || lo < 0) return -1;
        out[n++] = (unsigned char)(hi * 16 + lo);
        hex += 2;
    }
    return hex[0] ? -1 : n;
}

/* UTF-8 bytes -> a NUL-terminated wide string, or NULL when they are not
 * UTF-8 (or hold a NUL). */
static WCHAR *from_utf8(const unsigned char *b, int n)
{
    WCHAR *w;
    int len;
    if (memchr(b, 0, n)) return NULL;
    if (n == 0) return calloc(1, sizeof(WCHAR));
    len = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, (const char *)b, n, NULL, 0);
    if (len <= 0) return NULL;
    w = calloc(len + 1, sizeof(WCHAR));
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, (const char *)b, n, w, len);
    return w;
}

static WCHAR *from_utf16_hex(const char *hex)
{
    size_t n = strlen(hex), i;
    WCHAR *w;
    if (n % 4) return NULL;
    w = calloc(n / 4 + 1, sizeof(WCHAR));
    for (i = 0; i < n / 4; i++)
    {
        int d[4], k;
        for (k = 0; k < 4; k++)
            if ((d[k] = hexval(hex[i * 4 + k])) < 0) { free(w); return NULL; }
        w[i] = (WCHAR)((d[0] << 12) | (d[1] << 8) | (d[2] << 4) | d[3]);
        if (!w[i]) { free(w); return NULL; }
    }
    return w;
}

static WCHAR *widen(const char *s)
{
    return from_utf8((const unsigned char *)s, (int)strlen(s));
}

/* A property's value, any length (the ERROR_MORE_DATA dance). */
static WCHAR *get_property(MSIHANDLE h, const WCHAR *name)
{
    DWORD sz = 256;
    WCHAR *buf = malloc(sz * sizeof(WCHAR));
    UINT r;
    while ((r = MsiGetPropertyW(h, name, buf, &sz)) == ERROR_MORE_DATA)
    {
        sz++;
        buf = realloc(buf, sz * sizeof(WCHAR));
    }
    if (r) buf[0] = 0;
    return buf;
}

static void put_line_utf8(const WCHAR *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *buf = malloc(n), *p;
    WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, n, NULL, NULL);
    for (p = buf; *p; p++)
    {
        if (*p == '\n') fputs("\\n", stdout);
        else if (*p == '\r') fputs("\\r", stdout);
        else putchar(*p);
    }
    free(buf);
}

static void check(MSIHANDLE h)
{
    WCHAR *invalid;
    UINT r;
    MsiSetPropertyW(h, INVALID, L"");
    r = MsiDoActionW(h, L"CheckAnswers");
    invalid = get_property(h, INVALID);
    if (r != ERROR_SUCCESS)
        printf("error %u\n", r);
    else if (invalid[0])
    {
        fputs("refused ", stdout);
        put_line_utf8(invalid);
        putchar('\n');
    }
    else
        puts("ok");
    MsiSetPropertyW(h, INVALID, L"");
    free(invalid);
}

static void try_value(MSIHANDLE h, const WCHAR *prop, const WCHAR *value)
{
    WCHAR *before = get_property(h, prop);
    MsiSetPropertyW(h, prop, value);
    check(h);
    MsiSetPropertyW(h, prop, before);
    free(before);
}

/* The whole file, NUL-terminated. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n + 1);
    if (fread(buf, 1, n, f) != (size_t)n) { fclose(f); free(buf); return NULL; }
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int record(MSIHANDLE h, char *line, unsigned char *bytes)
{
    char *verb = strtok(line, " \r"), *prop = strtok(NULL, " \r"), *hex = strtok(NULL, " \r");
    WCHAR *wprop, *value;
    int n;
    if (!verb) return 0;
    if (!strcmp(verb, "check") && !prop) { check(h); return 0; }
    if (!prop) { fprintf(stderr, "bad record: %s\n", verb); return 1; }
    if (!hex) hex = "-";
    wprop = widen(prop);
    if (!strcmp(verb, "try16"))
    {
        value = from_utf16_hex(hex);
        if (!value) { fprintf(stderr, "bad UTF-16 hex for %s\n", prop); return 1; }
        try_value(h, wprop, value);
    }
    else
    {
        if ((n = unhex(hex, bytes)) < 0) { fprintf(stderr, "bad hex for %s\n", prop); return 1; }
        value = from_utf8(bytes, n);
        if (!strcmp(verb, "set"))
        {
            if (!value) { fprintf(stderr, "set %s: not UTF-8 or holds NUL\n", prop); return 1; }
            MsiSetPropertyW(h, wprop, value);
        }
        else if (!strcmp(verb, "try"))
        {
            if (value) try_value(h, wprop, value);
            else puts("skip");
        }
        else { fprintf(stderr, "unknown record %s\n", verb); return 1; }
    }
    free(wprop);
    free(value);
    return 0;
}

int main(int argc, char **argv)
{
    MSIHANDLE h;
    WCHAR *package;
    char *text, *line, *next;
    unsigned char *bytes;
    UINT r;
    int bad = 0;

    _setmode(_fileno(stdout), _O_BINARY);
    if (argc < 3 || argc > 4)
    {
        fprintf(stderr, "usage: msicheck PACKAGE.msi RECORDS [LOGFILE]\n");
        return 2;
    }
    if (!(text = slurp(argv[2]))) { fprintf(stderr, "cannot read %s\n", argv[2]); return 2; }
    MsiSetInternalUI(INSTALLUILEVEL_NONE, NULL);
    if (argc == 4)
    {
        WCHAR *log = widen(argv[3]);
        MsiEnableLogW(INSTALLLOGMODE_VERBOSE | INSTALLLOGMODE_INFO | INSTALLLOGMODE_ERROR, log, 0);
        free(log);
    }
    package = widen(argv[1]);
    r = MsiOpenPackageW(package, &h);
    if (r) { fprintf(stderr, "MsiOpenPackage failed: %u\n", r); return 1; }
    bytes = malloc(strlen(text) / 2 + 1);
    for (line = text; line; line = next)
    {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        bad |= record(h, line, bytes);
    }
    fflush(stdout);
    MsiCloseHandle(h);
    free(package);
    free(bytes);
    free(text);
    return bad;
}

/* TEST-ONLY: drives msi.dll (Wine's, or Windows') so tests can check what
 * omnipack writes with a database engine we did not write.
 *
 *   msitool apply BASE.msi X.mst OUT.msi [ERRFLAGS]
 *       copies BASE to OUT, MsiDatabaseApplyTransform(OUT, X, ERRFLAGS)
 *       (MSITRANSFORM_ERROR_* bits, decimal or 0x hex), MsiDatabaseCommit.
 *   msitool query DB.msi "SELECT ..." ["SELECT ..." ...]
 *       per query: one line per row, fields separated by TAB (NULL as
 *       <NULL>, binary (v0) fields as bin:<hex>, strings in UTF-8), then
 *       a line "----".
 *   msitool view DB.msi X.mst ERRFLAGS "SELECT ..." [...]
 *       applies X to DB in memory (never committed), then queries as
 *       above: what msi.dll sees during an install, including stream
 *       updates that Wine's MsiDatabaseCommit does not write back (it
 *       skips streams the file already has).
 *   msitool suminfo FILE
 *       every summary property as PID<TAB>value (FILETIMEs as hex).
 *
 * Exit code 0 on success; otherwise the failing call and its result are
 * printed on stderr. Build: x86_64-w64-mingw32-gcc -O2 -o msitool.exe
 * msitool.c -lmsi
 */
#include <windows.h>
#include <msi.h>
#include <msiquery.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <io.h>

static void put_utf8(const WCHAR *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *buf = malloc(n);
    WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, n, NULL, NULL);
    fputs(buf, stdout);
    free(buf);
}

static int fail(const char *what, UINT r)
{
    fprintf(stderr, "%s failed: %u\n", what, r);
    return 1;
}

static int apply(const char *base, const char *mst, const char *out, int flags)
{
    MSIHANDLE db;
    UINT r;
    if (!CopyFileA(base, out, FALSE))
        return fail("CopyFile", GetLastError());
    r = MsiOpenDatabaseA(out, MSIDBOPEN_TRANSACT, &db);
    if (r) return fail("MsiOpenDatabase", r);
    r = MsiDatabaseApplyTransformA(db, mst, flags);
    printf("MsiDatabaseApplyTransform=%u\n", r);
    if (r) return fail("MsiDatabaseApplyTransform", r);
    r = MsiDatabaseCommit(db);
    printf("MsiDatabaseCommit=%u\n", r);
    if (r) return fail("MsiDatabaseCommit", r);
    MsiCloseHandle(db);
    return 0;
}

static int run_query(MSIHANDLE db, const char *sql)
{
    MSIHANDLE view, rec, types;
    UINT r, i, n;
    WCHAR type[16];
    DWORD sz;
    char binary[32];

    r = MsiDatabaseOpenViewA(db, sql, &view);
    if (r) return fail("MsiDatabaseOpenView", r);
    r = MsiViewExecute(view, 0);
    if (r) return fail("MsiViewExecute", r);
    r = MsiViewGetColumnInfo(view, MSICOLINFO_TYPES, &types);
    if (r) return fail("MsiViewGetColumnInfo", r);
    n = MsiRecordGetFieldCount(types);
    if (n > sizeof binary) n = sizeof binary;
    for (i = 1; i <= n; i++)
    {
        sz = 16;
        MsiRecordGetStringW(types, i, type, &sz);
        binary[i - 1] = (type[0] == 'v' || type[0] == 'V');
    }
    while ((r = MsiViewFetch(view, &rec)) == ERROR_SUCCESS)
    {
        for (i = 1; i <= n; i++)
        {
            if (i > 1) putchar('\t');
            if (MsiRecordIsNull(rec, i))
                fputs("<NULL>", stdout);
            else if (binary[i - 1])
            {
                char buf[4096];
                DWORD got, k;
                fputs("bin:", stdout);
                do
                {
                    got = sizeof buf;
                    if (MsiRecordReadStream(rec, i, buf, &got)) break;
                    for (k = 0; k < got; k++) printf("%02x", (unsigned char)buf[k]);
                } while (got == sizeof buf);
            }
            else
            {
                WCHAR *w;
                sz = 0;
                MsiRecordGetStringW(rec, i, L"", &sz);
                sz++;
                w = malloc(sz * sizeof(WCHAR));
                MsiRecordGetStringW(rec, i, w, &sz);
                put_utf8(w);
                free(w);
            }
        }
        putchar('\n');
        MsiCloseHandle(rec);
    }
    if (r != ERROR_NO_MORE_ITEMS) return fail("MsiViewFetch", r);
    MsiCloseHandle(types);
    MsiViewClose(view);
    MsiCloseHandle(view);
    puts("----");
    return 0;
}

static int query(const char *path, const char *mst, int flags, char **sql, int count)
{
    MSIHANDLE db;
    UINT r;
    int i;

    r = MsiOpenDatabaseA(path, mst ? MSIDBOPEN_TRANSACT : MSIDBOPEN_READONLY, &db);
    if (r) return fail("MsiOpenDatabase", r);
    if (mst)
    {
        r = MsiDatabaseApplyTransformA(db, mst, flags);
        if (r) return fail("MsiDatabaseApplyTransform", r);
    }
    for (i = 0; i < count; i++)
        if (run_query(db, sql[i])) return 1;
    MsiCloseHandle(db);
    return 0;
}

static int suminfo(const char *path)
{
    MSIHANDLE si;
    UINT r, pid, type;
    INT ival;
    FILETIME ft;
    WCHAR buf[1024];
    DWORD sz;

    r = MsiGetSummaryInformationA(0, path, 0, &si);
    if (r) return fail("MsiGetSummaryInformation", r);
    for (pid = 1; pid <= 19; pid++)
    {
        sz = 1024;
        r = MsiSummaryInfoGetPropertyW(si, pid, &type, &ival, &ft, buf, &sz);
        if (r || type == VT_EMPTY) continue;
        printf("%u\t", pid);
        if (type == VT_LPSTR) put_utf8(buf);
        else if (type == VT_FILETIME) printf("%08lx%08lx", ft.dwHighDateTime, ft.dwLowDateTime);
        else printf("%d", ival);
        putchar('\n');
    }
    MsiCloseHandle(si);
    return 0;
}

int main(int argc, char **argv)
{
    _setmode(_fileno(stdout), _O_BINARY);
    if (argc >= 5 && !strcmp(argv[1], "apply"))
        return apply(argv[2], argv[3], argv[4], argc > 5 ? (int)strtol(argv[5], NULL, 0) : 0);
    if (argc >= 4 && !strcmp(argv[1], "query"))
        return query(argv[2], NULL, 0, argv + 3, argc - 3);
    if (argc >= 6 && !strcmp(argv[1], "view"))
        return query(argv[2], argv[3], (int)strtol(argv[4], NULL, 0), argv + 5, argc - 5);
    if (argc == 3 && !strcmp(argv[1], "suminfo"))
        return suminfo(argv[2]);
    fprintf(stderr, "usage: msitool apply BASE MST OUT [ERRFLAGS] | query DB SQL... | view DB MST ERRFLAGS SQL... | suminfo FILE\n");
    return 2;
}

/* TEST-ONLY shim, never shipped: Wine 8 lacks bcryptprimitives!ProcessPrng,
 * which Rust's std (>= 1.78) imports on Windows. Windows itself has it. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}

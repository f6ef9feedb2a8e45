/* TEST fixture: the executable of the legacy Windows clients that Outpost
 * Client replaces. A minimal real service (it starts, reports RUNNING and
 * stops on request) whose `config check` accepts anything, so omnipack can
 * build legacy MSIs with their own service from the legacy manifests. */
#include <windows.h>
#include <string.h>

static SERVICE_STATUS_HANDLE handle;
static SERVICE_STATUS status;
static HANDLE stop_event;

static DWORD WINAPI control(DWORD code, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type; (void)data; (void)ctx;
    if (code == SERVICE_CONTROL_STOP || code == SERVICE_CONTROL_SHUTDOWN) {
        status.dwCurrentState = SERVICE_STOP_PENDING;
        SetServiceStatus(handle, &status);
        SetEvent(stop_event);
    }
    return NO_ERROR;
}

static void WINAPI service_main(DWORD argc, LPSTR *argv)
{
    (void)argc;
    handle = RegisterServiceCtrlHandlerExA(argv[0], control, NULL);
    status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    status.dwControlsAccepted = SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN;
    status.dwCurrentState = SERVICE_RUNNING;
    SetServiceStatus(handle, &status);
    WaitForSingleObject(stop_event, INFINITE);
    status.dwCurrentState = SERVICE_STOPPED;
    SetServiceStatus(handle, &status);
}

int main(int argc, char **argv)
{
    SERVICE_TABLE_ENTRYA table[] = { { "", service_main }, { NULL, NULL } };
    if (argc > 1 && strcmp(argv[1], "config") == 0)
        return 0;
    stop_event = CreateEventA(NULL, TRUE, FALSE, NULL);
    return StartServiceCtrlDispatcherA(table) ? 0 : 1;
}

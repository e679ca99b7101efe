/* status.c - names and messages of the status codes, generated from the one list. */
#include "ad/status.h"

const char *ad_status_name(ad_status s)
{
    switch (s) {
#define AD__STATUS_NAME(name, value, msg) case name: return #name;
        AD_STATUS_LIST(AD__STATUS_NAME)
#undef AD__STATUS_NAME
    case AD_STATUS_COUNT: break;
    }
    return "AD_UNKNOWN";
}

const char *ad_status_str(ad_status s)
{
    switch (s) {
#define AD__STATUS_MSG(name, value, msg) case name: return msg;
        AD_STATUS_LIST(AD__STATUS_MSG)
#undef AD__STATUS_MSG
    case AD_STATUS_COUNT: break;
    }
    return "unknown status";
}

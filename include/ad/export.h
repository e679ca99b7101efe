/* export.h - the visibility macro for the public API. */
#ifndef AD_EXPORT_H
#define AD_EXPORT_H

#if defined(AD_BUILDING_LIBRARY) && defined(__GNUC__)
#define AD_API __attribute__((visibility("default")))
#else
#define AD_API
#endif

#endif

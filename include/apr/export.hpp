// Symbol visibility for libapr's public C++ API.
#pragma once

#if defined(APR_STATIC)
#define APR_API
#elif defined(APR_BUILDING_LIBRARY)
#define APR_API __attribute__((visibility("default")))
#else
#define APR_API
#endif

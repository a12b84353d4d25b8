// The origin's HTTP interface (docs/api.md): the TUF repository as static files, the upload API
// for plugin authors, and the operator endpoints (/healthz, /metrics, /status).
#ifndef FERRY_ORIGIN_API_H_
#define FERRY_ORIGIN_API_H_

#include <string>

#include "base/error.h"
#include "net/server.h"
#include "origin/service.h"

namespace ferry::origin {

class MirrorDirector;

// Registers every route on `server` (before Start). `svc` and `director` must outlive the
// server; without a director the mirror endpoints and the redirector are absent.
Status RegisterRoutes(net::Server& server, OriginService& svc, MirrorDirector* director = nullptr);

// The HTTP status for an error code (400, 401, 403, 404, 409, 413, 500, 503, ...).
int HttpStatusFor(Errc code);
// {"error": "<errc name>", "message": "..."} with HttpStatusFor(code).
net::Response ErrorResponse(const Error& error);

}  // namespace ferry::origin

#endif  // FERRY_ORIGIN_API_H_

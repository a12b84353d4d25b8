#include "store/blob_store.h"

#include <algorithm>

namespace ferry::store {

Result<BlobInfo> BlobStore::Put(ByteSpan data, BlobWriteOptions options) {
  // Knowing the length up front lets the quota be checked before any byte is written.
  if (!options.expected_length) options.expected_length = data.size();
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, NewWriter(options));
  FERRY_TRY(writer->Write(data));
  return writer->Commit();
}

Result<std::vector<Digest>> BlobStore::ListAll() const {
  std::vector<Digest> out;
  FERRY_TRY(List([&](const Digest& d) {
    out.push_back(d);
    return true;
  }));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ferry::store

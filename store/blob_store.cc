#include "store/blob_store.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include <unistd.h>

#include "base/fs.h"

namespace ferry::store {

Result<BlobInfo> BlobStore::Put(ByteSpan data, BlobWriteOptions options) {
  // Knowing the length up front lets the quota be checked before any byte is written.
  if (!options.expected_length) options.expected_length = data.size();
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, NewWriter(options));
  FERRY_TRY(writer->Write(data));
  return writer->Commit();
}

Status BlobStore::Materialize(const Digest& digest, const std::string& dest) const {
  FERRY_ASSIGN_OR_RETURN(OpenedBlob blob, OpenBlob(digest));
  FERRY_ASSIGN_OR_RETURN(AtomicFileWriter out, AtomicFileWriter::Create(dest));
  std::uint64_t copied = 0;
  FERRY_TRY(ReadChunks(blob.fd.get(), "blob " + digest.hex(), [&](ByteSpan chunk) {
    copied += chunk.size();
    return out.Write(AsChars(chunk));
  }));
  if (copied != blob.length) {
    return Error(Errc::kIoError, "blob " + digest.hex() + " changed length while copied");
  }
  return out.Commit();
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

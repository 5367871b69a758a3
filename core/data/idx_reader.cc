#include "core/data/idx_reader.h"

#include <zlib.h>

#include <filesystem>
#include <memory>

namespace qg::data {
namespace {

constexpr uint32_t kUnsignedByteType = 0x08;

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads exactly `n` bytes or explains why not.
Status ReadExactly(gzFile f, const std::string& path, void* dst, size_t n, const char* what) {
  auto* out = static_cast<unsigned char*>(dst);
  size_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
    const int r = gzread(f, out + got, chunk);
    if (r < 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      return Error::Corruption("'{}': damaged data while reading {}: {}", path, what, msg);
    }
    if (r == 0) {
      return Error::Corruption("'{}': truncated: {} needs {} bytes, only {} present", path, what, n, got);
    }
    got += static_cast<size_t>(r);
  }
  return OkStatus();
}

uint32_t BigEndian32(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

}  // namespace

Result<IdxArray> ReadIdxFile(const std::string& path, int expected_rank) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Error::NotFound("IDX file '{}' does not exist", path);
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) return Error::IOError("cannot open IDX file '{}'", path);

  unsigned char header[4];
  QG_RETURN_IF_ERROR(ReadExactly(f.get(), path, header, 4, "the magic number"));
  const uint32_t magic = BigEndian32(header);
  const uint32_t expected_magic = (kUnsignedByteType << 8) | static_cast<uint32_t>(expected_rank);
  if (magic != expected_magic) {
    return Error::Corruption("'{}': bad magic number 0x{:08x}, expected 0x{:08x} (IDX ubyte, {} dims)", path,
                             magic, expected_magic, expected_rank);
  }
  IdxArray array;
  int64_t total = 1;
  for (int i = 0; i < expected_rank; ++i) {
    QG_RETURN_IF_ERROR(ReadExactly(f.get(), path, header, 4, "the dimension sizes"));
    const int64_t dim = BigEndian32(header);
    if (dim <= 0 || dim > (int64_t{1} << 31)) {
      return Error::Corruption("'{}': implausible dimension {} = {}", path, i, dim);
    }
    array.dims.push_back(dim);
    total *= dim;
  }
  if (total > (int64_t{1} << 34)) return Error::Corruption("'{}': header claims {} bytes of data", path, total);
  array.data.resize(static_cast<size_t>(total));
  QG_RETURN_IF_ERROR(ReadExactly(f.get(), path, array.data.data(), array.data.size(), "the data"));
  return array;
}

Result<LabeledImages> ReadIdxImagesAndLabels(const std::string& images_path,
                                             const std::string& labels_path, int64_t num_classes) {
  QG_ASSIGN_OR_RETURN(IdxArray images, ReadIdxFile(images_path, 3));
  QG_ASSIGN_OR_RETURN(IdxArray labels, ReadIdxFile(labels_path, 1));
  if (images.dims[0] != labels.dims[0]) {
    return Error::Corruption("'{}' has {} images but '{}' has {} labels", images_path, images.dims[0],
                             labels_path, labels.dims[0]);
  }
  LabeledImages out;
  out.count = images.dims[0];
  out.channels = 1;
  out.height = images.dims[1];
  out.width = images.dims[2];
  out.pixels = std::move(images.data);
  out.labels.reserve(labels.data.size());
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= num_classes) {
      return Error::Corruption("'{}': label {} at index {} is not below {} classes", labels_path,
                               int{labels.data[i]}, i, num_classes);
    }
    out.labels.push_back(labels.data[i]);
  }
  return out;
}

}  // namespace qg::data

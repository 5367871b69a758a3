#include "core/models/model_io.h"

#include <torch/torch.h>

#include <filesystem>

#include "core/base/files.h"
#include "core/base/torch_call.h"

namespace qg::models {

namespace {
constexpr const char* kRecordKey = "quantgrid_model";

// The parameters' floating type when it is not float32 (FP16 files), so that
// loading converts the module first: LibTorch's Module::load points each
// float parameter at the file's storage without checking its type, and a
// half storage read as float runs past its end.
std::string StoredDtype(const GraphModule& model) {
  for (const auto& p : model->parameters()) {
    if (p.scalar_type() == torch::kHalf) return "float16";
    if (p.scalar_type() == torch::kBFloat16) return "bfloat16";
  }
  return "";
}

// Every tensor's storage holds what its type and shape say: false for one
// that was loaded over a storage of another type.
bool StoragesFit(const GraphModule& model) {
  for (const auto& t : model->parameters()) {
    if (t.storage().nbytes() < static_cast<size_t>(t.numel() * t.element_size())) return false;
  }
  for (const auto& t : model->buffers()) {
    if (t.storage().nbytes() < static_cast<size_t>(t.numel() * t.element_size())) return false;
  }
  return true;
}
}  // namespace

Status SaveModel(const GraphModule& model, const std::string& path) {
  nlohmann::json record{{"format", 1},
                        {"graph", model->graph().ToJson()},
                        {"model_name", model->meta().model_name},
                        {"options", model->meta().options},
                        {"transforms", model->meta().transforms}};
  if (const std::string dtype = StoredDtype(model); !dtype.empty()) record["dtype"] = dtype;
  std::error_code ec;
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  const std::string tmp = UniqueTempPath(path);  // one per attempt: two writers never share it
  QG_RETURN_IF_ERROR(TorchCall(fmt::format("writing model file '{}'", path), [&] {
    torch::serialize::OutputArchive archive;
    archive.write(kRecordKey, c10::IValue(record.dump()));
    model->save(archive);
    archive.save_to(tmp);
  }));
  QG_RETURN_IF_ERROR(CommitTempFile(tmp, path));
  return OkStatus();
}

namespace {

Status OpenArchive(const std::string& path, torch::serialize::InputArchive& archive) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Error::NotFound("model file '{}' does not exist", path);
  auto loaded = TorchCall("", [&] { archive.load_from(path); });
  if (!loaded) return Error::Corruption("model file '{}' is not a readable LibTorch archive ({})", path, loaded.error().message);
  return OkStatus();
}

Result<ModelFileKind> KindOf(const std::string& path, torch::serialize::InputArchive& archive, c10::IValue& record) {
  if (archive.try_read(kRecordKey, record) && record.isString()) return ModelFileKind::kModel;
  if (c10::IValue int8; archive.try_read(kInt8RecordKey, int8) && int8.isString()) return ModelFileKind::kInt8;
  return Error::Corruption("model file '{}' has no quantgrid record (not written by quantgrid?)", path);
}

}  // namespace

Result<ModelFileKind> ModelFileKindOf(const std::string& path) {
  torch::serialize::InputArchive archive;
  QG_RETURN_IF_ERROR(OpenArchive(path, archive));
  c10::IValue record;
  return KindOf(path, archive, record);
}

Result<GraphModule> LoadModel(const std::string& path) {
  torch::serialize::InputArchive archive;
  QG_RETURN_IF_ERROR(OpenArchive(path, archive));
  c10::IValue record_value;
  QG_ASSIGN_OR_RETURN(const ModelFileKind kind, KindOf(path, archive, record_value));
  if (kind == ModelFileKind::kInt8) {
    return Error::FailedPrecondition(
        "'{}' is an INT8 model file (quantgrid quantize wrote it); this needs an FP32 model file, such as the one it "
        "was quantized from",
        path);
  }
  const auto record = nlohmann::json::parse(record_value.toStringRef(), nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded() || !record.contains("graph")) {
    return Error::Corruption("model file '{}': damaged quantgrid record", path);
  }
  QG_ASSIGN_OR_RETURN(Graph graph, Graph::FromJson(record["graph"]));
  ModelMeta meta{.model_name = record.value("model_name", ""),
                 .options = record.value("options", nlohmann::json::object()),
                 .transforms = record.value("transforms", nlohmann::json::array())};
  GraphModule model(std::move(graph), std::move(meta));
  const std::string dtype = record.value("dtype", "");
  if (dtype == "float16") model->to(torch::kHalf);
  if (dtype == "bfloat16") model->to(torch::kBFloat16);
  auto params = TorchCall("", [&] { model->load(archive); });
  if (!params) return Error::Corruption("model file '{}': parameters do not match its graph ({})", path, params.error().message);
  if (!StoragesFit(model)) {
    return Error::Corruption("model file '{}': its tensors are not of the type its record says (a half-precision file "
                             "written before quantgrid recorded types? rerun its job with --force)",
                             path);
  }
  model->UseChannelsLast();
  model->eval();
  return model;
}

}  // namespace qg::models

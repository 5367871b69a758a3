// ONNX files on disk. Nothing is written that onnx::checker rejects, and
// nothing is read back without passing it again, so a truncated or corrupted
// file is a Corruption error naming the path instead of an ONNX Runtime crash.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "core/base/result.h"

namespace qg::onnx_export {

// onnx::checker::check_model plus strict shape inference; InvalidArgument
// naming `what` and the checker's message.
Status CheckOnnxModel(const onnx::ModelProto& model, const std::string& what);

// Checks, serializes and writes atomically (temporary file + rename).
Status WriteOnnxFile(const onnx::ModelProto& model, const std::string& path);

// NotFound when missing; Corruption when it does not parse, fails the
// checker, or an initializer's data does not match its shape.
Result<onnx::ModelProto> ReadOnnxFile(const std::string& path);

}  // namespace qg::onnx_export

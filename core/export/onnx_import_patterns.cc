// Decomposed ops put back together before translation. torch.onnx writes a
// LayerNorm as nine nodes below opset 17 and a GELU as five below opset 20;
// quantgrid runs each as one layer (an INT8 layer norm, a GELU byte table),
// so it finds them by their exact shape here. Every inner value must be read
// inside the pattern alone and no graph output; else nothing is fused and
// the nodes meet the importer one by one (and its error naming the node).
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "core/export/internal/onnx_importer.h"

namespace qg::onnx_export::internal {
namespace {

class Matcher {
 public:
  explicit Matcher(const onnx::GraphProto& g) : g_(g) {
    for (int i = 0; i < g.node_size(); ++i) {
      for (const auto& in : g.node(i).input()) readers_[in].push_back(i);
      for (const auto& out : g.node(i).output()) producer_[out] = i;
    }
    for (const auto& o : g.output()) outputs_.insert(o.name());
    for (const auto& t : g.initializer()) initializers_[t.name()] = &t;
  }

  const onnx::NodeProto& node(int i) const { return g_.node(i); }

  // The constant tensor `name` holds: an initializer or a Constant node's
  // value, maybe through Identity nodes (torch.onnx shares equal weights so).
  const onnx::TensorProto* Constant(const std::string& name) const {
    std::string value = name;
    for (int hops = 0; hops < 8; ++hops) {
      if (auto it = initializers_.find(value); it != initializers_.end()) return it->second;
      auto p = producer_.find(value);
      if (p == producer_.end()) return nullptr;
      const auto& n = node(p->second);
      if (n.op_type() == "Identity" && n.input_size() == 1) {
        value = n.input(0);
        continue;
      }
      if (n.op_type() != "Constant") return nullptr;
      for (const auto& a : n.attribute()) {
        if (a.name() == "value" && a.has_t()) return &a.t();
      }
      return nullptr;
    }
    return nullptr;
  }
  std::optional<double> Scalar(const std::string& name) const {
    const onnx::TensorProto* t = Constant(name);
    if (t == nullptr) return std::nullopt;
    const torch::Tensor v = TensorFromProto(*t);
    if (!v.defined() || v.numel() != 1) return std::nullopt;
    return v.to(torch::kDouble).item<double>();
  }
  bool Near(const std::string& name, double want) const {
    const auto v = Scalar(name);
    return v && std::abs(*v - want) <= 1e-5 * std::abs(want);
  }

  // Node i has op type `op` and that op's inputs and one output (the file
  // went past ONNX's checker, but a pattern never reads past a node's end).
  bool Is(int i, const std::string& op) const {
    const bool unary = op == "ReduceMean" || op == "Sqrt" || op == "Erf";
    const auto& n = node(i);
    return n.op_type() == op && n.input_size() == (unary ? 1 : 2) && n.output_size() == 1;
  }
  // The one node that reads `value`, when it Is `op` and `value` is no graph output.
  std::optional<int> SoleReader(const std::string& value, const char* op) const {
    auto it = readers_.find(value);
    if (it == readers_.end() || it->second.size() != 1 || outputs_.count(value)) return std::nullopt;
    if (!Is(it->second[0], op)) return std::nullopt;
    return it->second[0];
  }
  std::vector<int> Readers(const std::string& value) const {
    auto it = readers_.find(value);
    return it == readers_.end() ? std::vector<int>{} : it->second;
  }
  bool IsOutput(const std::string& value) const { return outputs_.count(value) > 0; }
  std::optional<int> Producer(const std::string& value) const {
    auto it = producer_.find(value);
    return it == producer_.end() ? std::nullopt : std::optional<int>(it->second);
  }

  // A binary node's input other than `value` ("" when neither or both are it).
  std::string Other(int i, const std::string& value) const {
    const auto& n = node(i);
    if (n.input_size() != 2 || (n.input(0) == value) == (n.input(1) == value)) return "";
    return n.input(0) == value ? n.input(1) : n.input(0);
  }

 private:
  const onnx::GraphProto& g_;
  std::map<std::string, std::vector<int>> readers_;
  std::map<std::string, int> producer_;
  std::set<std::string> outputs_;
  std::map<std::string, const onnx::TensorProto*> initializers_;
};

struct Fused {
  std::vector<int> nodes;  // replaced; the fused node takes the last one's place
  onnx::NodeProto node;
};

bool MeansOverLastAxis(const Matcher& m, int i) {
  const auto& n = m.node(i);
  return m.Is(i, "ReduceMean") && IntsAttr(n, "axes", {}) == std::vector<int64_t>{-1} &&
         IntAttr(n, "keepdims", 1) == 1;
}

// "/features/features.0/ReduceMean" -> "/features/features.0/<what>".
std::string NameBeside(const onnx::NodeProto& n, const std::string& what) {
  const auto slash = n.name().rfind('/');
  return slash == std::string::npos ? n.name() + ":" + what : n.name().substr(0, slash + 1) + what;
}

// ReduceMean(x) -> Sub(x, mean) -> Pow(d, 2) -> ReduceMean -> Add(eps) -> Sqrt -> Div(d, sqrt) [-> Mul(scale)] [->
// Add(bias)]
std::optional<Fused> MatchLayerNorm(const Matcher& m, int first) {
  const auto& mean = m.node(first);
  if (!MeansOverLastAxis(m, first)) return std::nullopt;
  const std::string x = mean.input(0);
  const auto sub = m.SoleReader(mean.output(0), "Sub");
  if (!sub || m.node(*sub).input(0) != x || m.node(*sub).input(1) != mean.output(0)) return std::nullopt;
  const std::string centred = m.node(*sub).output(0);
  const auto readers = m.Readers(centred);
  if (readers.size() != 2 || m.IsOutput(centred)) return std::nullopt;
  int pow = readers[0], div = readers[1];
  if (!m.Is(pow, "Pow")) std::swap(pow, div);
  if (!m.Is(pow, "Pow") || !m.Is(div, "Div") || m.node(pow).input(0) != centred ||
      !m.Near(m.node(pow).input(1), 2.0)) {
    return std::nullopt;
  }
  const auto var = m.SoleReader(m.node(pow).output(0), "ReduceMean");
  if (!var || !MeansOverLastAxis(m, *var)) return std::nullopt;
  const auto add_eps = m.SoleReader(m.node(*var).output(0), "Add");
  if (!add_eps) return std::nullopt;
  const std::string eps_name = m.Other(*add_eps, m.node(*var).output(0));
  const auto eps = m.Scalar(eps_name);
  if (!eps) return std::nullopt;
  const auto sqrt = m.SoleReader(m.node(*add_eps).output(0), "Sqrt");
  if (!sqrt || m.node(div).input(0) != centred || m.node(div).input(1) != m.node(*sqrt).output(0) ||
      m.SoleReader(m.node(*sqrt).output(0), "Div") != div) {
    return std::nullopt;
  }
  Fused f{.nodes = {first, *sub, pow, *var, *add_eps, *sqrt, div}};
  std::string out = m.node(div).output(0), scale, bias;
  if (auto mul = m.SoleReader(out, "Mul"); mul && m.Constant(m.Other(*mul, out))) {
    scale = m.Other(*mul, out);
    f.nodes.push_back(*mul);
    out = m.node(*mul).output(0);
    if (auto add = m.SoleReader(out, "Add"); add && m.Constant(m.Other(*add, out))) {
      bias = m.Other(*add, out);
      f.nodes.push_back(*add);
      out = m.node(*add).output(0);
    }
  }
  f.node.set_op_type("LayerNormalization");
  f.node.set_name(NameBeside(mean, "LayerNormalization"));
  for (const auto& in : {x, scale, bias}) f.node.add_input(in);
  f.node.add_output(out);
  auto* axis = f.node.add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto_AttributeType_INT);
  axis->set_i(-1);
  auto* epsilon = f.node.add_attribute();
  epsilon->set_name("epsilon");
  epsilon->set_type(onnx::AttributeProto_AttributeType_FLOAT);
  epsilon->set_f(static_cast<float>(*eps));
  return f;
}

// Div(x, sqrt 2) -> Erf -> Add(1) -> Mul(x) -> Mul(1/2), or Mul(x, 1/2) -> Mul(erf + 1).
std::optional<Fused> MatchGelu(const Matcher& m, int erf) {
  const auto& e = m.node(erf);
  if (!m.Is(erf, "Erf")) return std::nullopt;
  const auto div = m.Producer(e.input(0));
  if (!div || !m.Is(*div, "Div") || !m.Near(m.node(*div).input(1), std::sqrt(2.0)) ||
      !m.SoleReader(e.input(0), "Erf")) {
    return std::nullopt;
  }
  const std::string x = m.node(*div).input(0);
  const auto plus_one = m.SoleReader(e.output(0), "Add");
  if (!plus_one || !m.Near(m.Other(*plus_one, e.output(0)), 1.0)) return std::nullopt;
  const std::string gate = m.node(*plus_one).output(0);
  const auto mul = m.SoleReader(gate, "Mul");
  if (!mul) return std::nullopt;
  Fused f{.nodes = {*div, erf, *plus_one, *mul}};
  const std::string other = m.Other(*mul, gate);
  std::string out;
  if (other == x) {  // (x * gate) * 0.5
    const auto half = m.SoleReader(m.node(*mul).output(0), "Mul");
    if (!half || !m.Near(m.Other(*half, m.node(*mul).output(0)), 0.5)) return std::nullopt;
    f.nodes.push_back(*half);
    out = m.node(*half).output(0);
  } else {  // (x * 0.5) * gate
    const auto half = m.Producer(other);
    if (!half || !m.Is(*half, "Mul") || m.Other(*half, x).empty() || !m.Near(m.Other(*half, x), 0.5) ||
        !m.SoleReader(other, "Mul")) {
      return std::nullopt;
    }
    f.nodes.push_back(*half);
    out = m.node(*mul).output(0);
  }
  f.node.set_op_type("Gelu");
  f.node.set_name(NameBeside(e, "Gelu"));
  f.node.add_input(x);
  f.node.add_output(out);
  return f;
}

}  // namespace

std::vector<onnx::NodeProto> FuseDecomposedOps(const onnx::GraphProto& graph) {
  const Matcher m(graph);
  std::vector<char> replaced(graph.node_size(), 0);
  std::map<int, onnx::NodeProto> fused_at;  // the last replaced node's index -> the fused node
  for (int i = 0; i < graph.node_size(); ++i) {
    if (replaced[i]) continue;
    auto f = MatchLayerNorm(m, i);
    if (!f) f = MatchGelu(m, i);
    if (!f) continue;
    bool overlaps = false;
    for (int k : f->nodes) overlaps = overlaps || replaced[k];
    if (overlaps) continue;
    int last = 0;
    for (int k : f->nodes) {
      replaced[k] = 1;
      last = std::max(last, k);
    }
    fused_at[last] = std::move(f->node);
  }
  std::vector<onnx::NodeProto> nodes;
  nodes.reserve(graph.node_size());
  for (int i = 0; i < graph.node_size(); ++i) {
    if (auto it = fused_at.find(i); it != fused_at.end()) {
      nodes.push_back(std::move(it->second));
    } else if (!replaced[i]) {
      nodes.push_back(graph.node(i));
    }
  }
  return nodes;
}

}  // namespace qg::onnx_export::internal

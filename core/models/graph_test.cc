#include "core/models/graph.h"

#include <gtest/gtest.h>

#include "core/models/graph_builder.h"
#include "core/models/model_registry.h"

namespace qg::models {
namespace {

TEST(Graph, JsonRoundTripKeepsEveryField) {
  for (const auto& name : KnownModels()) {
    const auto graph = BuildGraph(name, {.in_channels = 3, .image_size = name == "inception_v3" ? 299 : 32,
                                         .num_classes = 10, .aux_logits = true});
    ASSERT_TRUE(graph) << graph.error().ToString();
    const auto back = Graph::FromJson(graph->ToJson());
    ASSERT_TRUE(back) << back.error().ToString();
    EXPECT_EQ(back->ToJson(), graph->ToJson()) << name;
  }
  // Imported models' ops carry fields of their own: a slice its first channel.
  GraphBuilder b(16);
  Graph g = b.Finish({b.input()});
  g.nodes.push_back(Node{.name = "half", .op = Op::kSlice, .inputs = {0}, .in_channels = 16, .out_channels = 8,
                         .start = 8});
  g.outputs = {1};
  const auto back = Graph::FromJson(g.ToJson());
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->nodes[1].start, 8);
  EXPECT_EQ(back->nodes[1].out_channels, 8);
  EXPECT_EQ(back->ToJson(), g.ToJson());
}

TEST(Graph, ValidateNamesTheBrokenNode) {
  GraphBuilder b(1);
  Graph g = b.Finish({b.ReLU("r", b.input())});
  g.nodes.push_back(Node{.name = "r", .op = Op::kReLU, .inputs = {1}});
  auto dup = g.Validate();
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "graph node name 'r' is used twice");
  g.nodes.back().name = "fwd";
  g.nodes.back().inputs = {5};
  EXPECT_NE(g.Validate().error().message.find("'fwd' reads node 5 which does not precede it"), std::string::npos);
  g.nodes.back() = Node{.name = "add", .op = Op::kAdd, .inputs = {1}};
  EXPECT_NE(g.Validate().error().message.find("'add' (add) has 1 inputs"), std::string::npos);
}

TEST(Graph, FromJsonRejectsUnknownOp) {
  auto j = nlohmann::json::parse(R"({"nodes":[{"name":"input","op":"input","inputs":[]},
                                     {"name":"x","op":"softplus","inputs":[0]}],"outputs":[1]})");
  const auto g = Graph::FromJson(j);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message, "unknown graph op 'softplus'");
}

TEST(Graph, ConsumersListReaders) {
  GraphBuilder b(1);
  const int r = b.ReLU("r", b.input());
  const int a = b.Add("a", r, b.input());
  const Graph g = b.Finish({a});
  const auto consumers = g.Consumers();
  EXPECT_EQ(consumers[0], (std::vector<int>{1, 2}));
  EXPECT_EQ(consumers[1], (std::vector<int>{2}));
  EXPECT_EQ(g.Find("a"), 2);
  EXPECT_EQ(g.Find("zzz"), -1);
}

}  // namespace
}  // namespace qg::models

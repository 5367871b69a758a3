// torchvision.models.inception_v3 (transform_input=False), node for node.
#include "core/models/graph_builder.h"
#include "core/models/model_zoo.h"

namespace qg::models {
namespace {

constexpr double kBnEps = 0.001;

struct Inception {
  GraphBuilder& b;

  int Basic(const std::string& name, int x, int64_t out, Pair k, Pair s = {1, 1}, Pair p = {0, 0}) {
    return b.ConvBnRelu(name, x, out, k, s, p, kBnEps);
  }
  int AvgPool3x3(const std::string& name, int x) { return b.AvgPool(name, x, {3, 3}, {1, 1}, {1, 1}); }

  int A(const std::string& n, int x, int64_t pool_features) {
    const int b1 = Basic(n + ".branch1x1", x, 64, {1, 1});
    int b5 = Basic(n + ".branch5x5_1", x, 48, {1, 1});
    b5 = Basic(n + ".branch5x5_2", b5, 64, {5, 5}, {1, 1}, {2, 2});
    int b3 = Basic(n + ".branch3x3dbl_1", x, 64, {1, 1});
    b3 = Basic(n + ".branch3x3dbl_2", b3, 96, {3, 3}, {1, 1}, {1, 1});
    b3 = Basic(n + ".branch3x3dbl_3", b3, 96, {3, 3}, {1, 1}, {1, 1});
    const int bp = Basic(n + ".branch_pool", AvgPool3x3(n + ".avg_pool", x), pool_features, {1, 1});
    return b.Concat(n + ".cat", {b1, b5, b3, bp});
  }

  int B(const std::string& n, int x) {
    const int b3 = Basic(n + ".branch3x3", x, 384, {3, 3}, {2, 2});
    int bd = Basic(n + ".branch3x3dbl_1", x, 64, {1, 1});
    bd = Basic(n + ".branch3x3dbl_2", bd, 96, {3, 3}, {1, 1}, {1, 1});
    bd = Basic(n + ".branch3x3dbl_3", bd, 96, {3, 3}, {2, 2});
    const int bp = b.MaxPool(n + ".max_pool", x, {3, 3}, {2, 2});
    return b.Concat(n + ".cat", {b3, bd, bp});
  }

  int C(const std::string& n, int x, int64_t c7) {
    const int b1 = Basic(n + ".branch1x1", x, 192, {1, 1});
    int b7 = Basic(n + ".branch7x7_1", x, c7, {1, 1});
    b7 = Basic(n + ".branch7x7_2", b7, c7, {1, 7}, {1, 1}, {0, 3});
    b7 = Basic(n + ".branch7x7_3", b7, 192, {7, 1}, {1, 1}, {3, 0});
    int bd = Basic(n + ".branch7x7dbl_1", x, c7, {1, 1});
    bd = Basic(n + ".branch7x7dbl_2", bd, c7, {7, 1}, {1, 1}, {3, 0});
    bd = Basic(n + ".branch7x7dbl_3", bd, c7, {1, 7}, {1, 1}, {0, 3});
    bd = Basic(n + ".branch7x7dbl_4", bd, c7, {7, 1}, {1, 1}, {3, 0});
    bd = Basic(n + ".branch7x7dbl_5", bd, 192, {1, 7}, {1, 1}, {0, 3});
    const int bp = Basic(n + ".branch_pool", AvgPool3x3(n + ".avg_pool", x), 192, {1, 1});
    return b.Concat(n + ".cat", {b1, b7, bd, bp});
  }

  int D(const std::string& n, int x) {
    int b3 = Basic(n + ".branch3x3_1", x, 192, {1, 1});
    b3 = Basic(n + ".branch3x3_2", b3, 320, {3, 3}, {2, 2});
    int b7 = Basic(n + ".branch7x7x3_1", x, 192, {1, 1});
    b7 = Basic(n + ".branch7x7x3_2", b7, 192, {1, 7}, {1, 1}, {0, 3});
    b7 = Basic(n + ".branch7x7x3_3", b7, 192, {7, 1}, {1, 1}, {3, 0});
    b7 = Basic(n + ".branch7x7x3_4", b7, 192, {3, 3}, {2, 2});
    const int bp = b.MaxPool(n + ".max_pool", x, {3, 3}, {2, 2});
    return b.Concat(n + ".cat", {b3, b7, bp});
  }

  int E(const std::string& n, int x) {
    const int b1 = Basic(n + ".branch1x1", x, 320, {1, 1});
    const int b3 = Basic(n + ".branch3x3_1", x, 384, {1, 1});
    const int b3a = Basic(n + ".branch3x3_2a", b3, 384, {1, 3}, {1, 1}, {0, 1});
    const int b3b = Basic(n + ".branch3x3_2b", b3, 384, {3, 1}, {1, 1}, {1, 0});
    const int b3cat = b.Concat(n + ".branch3x3_cat", {b3a, b3b});
    int bd = Basic(n + ".branch3x3dbl_1", x, 448, {1, 1});
    bd = Basic(n + ".branch3x3dbl_2", bd, 384, {3, 3}, {1, 1}, {1, 1});
    const int bda = Basic(n + ".branch3x3dbl_3a", bd, 384, {1, 3}, {1, 1}, {0, 1});
    const int bdb = Basic(n + ".branch3x3dbl_3b", bd, 384, {3, 1}, {1, 1}, {1, 0});
    const int bdcat = b.Concat(n + ".branch3x3dbl_cat", {bda, bdb});
    const int bp = Basic(n + ".branch_pool", AvgPool3x3(n + ".avg_pool", x), 192, {1, 1});
    return b.Concat(n + ".cat", {b1, b3cat, bdcat, bp});
  }

  int Aux(const std::string& n, int x, int64_t num_classes) {
    x = b.AvgPool(n + ".avg_pool", x, {5, 5}, {3, 3});
    x = Basic(n + ".conv0", x, 128, {1, 1});
    x = Basic(n + ".conv1", x, 768, {5, 5});
    x = b.AdaptiveAvgPool(n + ".adaptive_pool", x);
    x = b.Flatten(n + ".flatten", x);
    return b.Linear(n + ".fc", x, 768, num_classes);
  }
};

}  // namespace

Result<Graph> BuildInceptionV3(const ModelOptions& o) {
  if (o.image_size < 75) {
    return Error::InvalidArgument("inception_v3 needs images of at least 75x75 (got {}x{}); it is built for 299x299",
                                  o.image_size, o.image_size);
  }
  GraphBuilder b(o.in_channels);
  Inception net{b};
  int x = net.Basic("Conv2d_1a_3x3", b.input(), 32, {3, 3}, {2, 2});
  x = net.Basic("Conv2d_2a_3x3", x, 32, {3, 3});
  x = net.Basic("Conv2d_2b_3x3", x, 64, {3, 3}, {1, 1}, {1, 1});
  x = b.MaxPool("maxpool1", x, {3, 3}, {2, 2});
  x = net.Basic("Conv2d_3b_1x1", x, 80, {1, 1});
  x = net.Basic("Conv2d_4a_3x3", x, 192, {3, 3});
  x = b.MaxPool("maxpool2", x, {3, 3}, {2, 2});
  x = net.A("Mixed_5b", x, 32);
  x = net.A("Mixed_5c", x, 64);
  x = net.A("Mixed_5d", x, 64);
  x = net.B("Mixed_6a", x);
  x = net.C("Mixed_6b", x, 128);
  x = net.C("Mixed_6c", x, 160);
  x = net.C("Mixed_6d", x, 160);
  x = net.C("Mixed_6e", x, 192);
  const int aux = o.aux_logits ? net.Aux("AuxLogits", x, o.num_classes) : -1;
  x = net.D("Mixed_7a", x);
  x = net.E("Mixed_7b", x);
  x = net.E("Mixed_7c", x);
  x = b.AdaptiveAvgPool("avgpool", x);
  x = b.Dropout("dropout", x, o.dropout < 0 ? 0.5 : o.dropout);
  x = b.Flatten("flatten", x);
  x = b.Linear("fc", x, 2048, o.num_classes);
  if (aux >= 0) return b.Finish({x, aux});
  return b.Finish({x});
}

}  // namespace qg::models

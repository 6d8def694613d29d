// danfojs-node requires @tensorflow/tfjs-node, whose install downloads libtensorflow.
// resad picks the real native backend itself (src/engine); danfo only needs tensor ops.
module.exports = require('@tensorflow/tfjs');
module.exports.__resadStub = true;

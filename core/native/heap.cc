// Hands V8's heap back to the system once start-up is over (core/heap.ts). Loading Sluice's modules, its
// policy and its CA allocates quickly, and V8 grows the young generation to its maximum for it (16 MB, most of
// it touched pages); nothing in JavaScript asks V8 to shrink it again (global.gc(), with --expose-gc, collects
// but keeps the young generation's size), and V8's memory reducer does it only ~8 s after the allocation rate
// falls. LowMemoryNotification is the embedder's call for "collect all you can and give memory back".
//
// It needs the isolate, which Node-API does not expose: this addon uses V8's and Node's own headers, and so is
// tied to the Node release it was built for (a different one refuses to load it; core/heap.ts then does
// nothing).
#include <node.h>
#include <v8.h>

namespace {

void ReleaseMemory(const v8::FunctionCallbackInfo<v8::Value>& info) {
  info.GetIsolate()->LowMemoryNotification();
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  v8::Isolate* isolate = context->GetIsolate();
  v8::Local<v8::FunctionTemplate> fn = v8::FunctionTemplate::New(isolate, ReleaseMemory);
  exports->Set(context, v8::String::NewFromUtf8Literal(isolate, "releaseMemory"), fn->GetFunction(context).ToLocalChecked()).Check();
}

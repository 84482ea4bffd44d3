//! Independent peers: clients of the mock not built on our SDK, one per content type
//! (curl for REST, hand-made gRPC-web frames over hyper's raw HTTP/1.1 and HTTP/2 connections,
//! Python grpcio and grpc-go for gRPC).

pub mod curl;
pub mod grpc_go;
pub mod grpc_web;
pub mod python;
